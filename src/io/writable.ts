// Checks, before any GPU work, that outputs can be written: the folders are made and a probe file is written,
// synced and removed in each, so a read-only disk, a file in the way, missing permissions or a full disk are
// reported at once instead of after an epoch of training. Errors are FileErrors (see fs-errors.ts).
import { closeSync, fsyncSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileError, FileError } from './fs-errors.js';

/**
 * Makes `dir` and its `subfolders` (recursively) and checks each can take a new file. `label` names the
 * flag in messages (e.g. "--out"). Throws FileError.
 */
export function ensureWritableDir(dir: string, subfolders: string[] = [], label?: string): void {
  const what = (p: string) => (label ? `${label} ${p}` : p);
  for (const folder of [dir, ...subfolders.map((s) => join(dir, s))]) {
    try {
      mkdirSync(folder, { recursive: true });
    } catch (e) {
      throw fileError(e, what(folder), 'create the folder');
    }
    probe(folder, what(folder));
  }
}

/**
 * Checks that the file `path` can be written (replaced atomically): its folder is made and writable, and `path`
 * itself, if it exists, is not a folder. Throws FileError.
 */
export function ensureWritableFile(path: string, label?: string): void {
  const what = label ? `${label} ${path}` : path;
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fileError(e, what, 'create the folder of');
  }
  ensureNotDirectory(path, label);
  probe(dir, what);
}

/** Throws FileError when `path` exists and is a folder (where a file must be written). */
export function ensureNotDirectory(path: string, label?: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return;
  }
  if (isDir) throw new FileError(`cannot write ${label ? `${label} ` : ''}${path}: is a directory; give a file name, not a folder (or remove the folder)`, 'EISDIR', path);
}

/** Creates, writes, syncs and removes a small file in `dir`. */
function probe(dir: string, what: string): void {
  const path = join(dir, `.write-probe.${process.pid}.${Math.random().toString(36).slice(2, 10)}`);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx');
    writeSync(fd, Buffer.alloc(4096));
    fsyncSync(fd);
  } catch (e) {
    throw fileError(e, what, 'write to');
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // the write error is the one to report
      }
      try {
        unlinkSync(path);
      } catch {
        // nothing was created
      }
    }
  }
}
