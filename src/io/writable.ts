// Checks, before any GPU work, that outputs can be written: the folders are made and a probe file is written,
// synced and removed in each, so a read-only disk, a file in the way, missing permissions or a full disk are
// reported at once instead of after an epoch of training. Errors are FileErrors (see fs-errors.ts).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileError, FileError } from './fs-errors.js';

/**
 * Makes `dir` and its `subfolders` (recursively) and checks each can take a new file. `label` names the
 * flag in messages (e.g. "--out"). Throws FileError.
 */
export function ensureWritableDir(dir: string, subfolders: string[] = [], label?: string): void {
  for (const folder of [dir, ...subfolders.map((s) => join(dir, s))]) {
    makeFolder(folder, label);
    probe(folder, label);
  }
}

/**
 * mkdir -p that reports the real cause: Node's recursive mkdir says ENOENT when a parent cannot be made (on a
 * read-only disk, for instance), so on failure the first missing folder is made alone to get its own error.
 */
export function makeFolder(dir: string, label?: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    let cause = e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      let missing = dir;
      while (dirname(missing) !== missing && !existsSync(dirname(missing))) missing = dirname(missing);
      try {
        mkdirSync(missing);
      } catch (inner) {
        cause = inner;
      }
    }
    throw fileError(cause, dir, 'create the folder', undefined, label);
  }
}

/**
 * Checks that the file `path` can be written (replaced atomically): its folder is made and writable, and `path`
 * itself, if it exists, is not a folder. Throws FileError.
 */
export function ensureWritableFile(path: string, label?: string): void {
  makeFolder(dirname(path), label);
  ensureNotDirectory(path, label);
  probe(dirname(path), label);
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
function probe(dir: string, label?: string): void {
  const path = join(dir, `.write-probe.${process.pid}.${Math.random().toString(36).slice(2, 10)}`);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx');
    writeSync(fd, Buffer.alloc(4096));
    fsyncSync(fd);
  } catch (e) {
    // ENOENT for a new file in a folder that exists: a virtual file system such as /proc or /sys.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(dir)) {
      throw new FileError(`cannot write to ${label ? `${label} ` : ''}${dir}: this folder does not take new files (a virtual file system such as /proc or /sys); choose a folder on a writable disk`, 'ENOENT', dir);
    }
    throw fileError(e, dir, 'write to', undefined, label);
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
