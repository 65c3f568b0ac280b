// The files a command writes (generate, evaluate, critic, export-generator, metric-sensitivity, train-classifier):
// all of them checked before any GPU work or long computation, then each written atomically (temp file, fsync,
// rename), so a failed write leaves the file that was there before intact, and the error says so, with its real
// cause and what had been written already.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ensureNotDirectory, ensureWritableDir, ensureWritableFile } from '../io/writable.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fileError } from '../io/fs-errors.js';
import { UsageError } from './args.js';

/** One output: the flag it comes from (used in messages, e.g. "--out" or "--out's record") and its path. */
export interface OutputFile {
  flag: string;
  path: string;
}

/** A folder of outputs (generate --each) and the names of the files that will be written in it. */
export interface OutputFolder {
  flag: string;
  path: string;
  files: string[];
}

export interface PlannedOutputs {
  files?: OutputFile[];
  folders?: OutputFolder[];
  /** Files the command reads (checkpoint, classifier): an output on one of them is refused. */
  inputs?: OutputFile[];
}

/**
 * Checks, before any GPU work, that every output can be written: missing parent folders are made, each folder
 * takes a probe write (so a read-only disk, a full disk or missing permission are found now), a folder where a
 * file must go and a file where a folder must go are refused. Two outputs on one file, or an output on a file the
 * command reads, are refused too (UsageError): one would silently replace the other.
 * Throws FileError (from io/writable.ts) or UsageError; creates only the folders the outputs need.
 */
export function checkOutputs({ files = [], folders = [], inputs = [] }: PlannedOutputs): void {
  const all = [...files, ...folders.flatMap((f) => f.files.map((name) => ({ flag: f.flag, path: join(f.path, name) })))];
  refuseCollisions(all, inputs);
  for (const folder of folders) {
    ensureWritableDir(folder.path, [], folder.flag);
    for (const name of folder.files) ensureNotDirectory(join(folder.path, name), folder.flag);
  }
  for (const file of files) ensureWritableFile(file.path, file.flag);
}

/** A key that two paths share when they name the same file: its inode if it exists, else its resolved path. */
function fileKey(path: string): string {
  try {
    const s = statSync(path);
    if (s.isFile()) return `inode ${s.dev}:${s.ino}`;
  } catch {
    // not there yet
  }
  const dir = dirname(resolve(path));
  return existsSync(dir) ? join(realpathSync(dir), basename(path)) : resolve(path);
}

function refuseCollisions(outputs: OutputFile[], inputs: OutputFile[]): void {
  const seen = new Map<string, OutputFile>();
  for (const input of inputs) seen.set(fileKey(input.path), input);
  const inputKeys = new Set(seen.keys());
  for (const output of outputs) {
    const key = fileKey(output.path);
    const other = seen.get(key);
    if (other && inputKeys.has(key)) {
      throw new UsageError(`${output.flag} ${output.path} is the ${other.flag} file this command reads; writing it would replace that file; choose another ${output.flag}`);
    }
    if (other) {
      throw new UsageError(`${output.flag} ${output.path} and ${other.flag} ${other.path} are the same file; one would replace the other; give them different paths`);
    }
    seen.set(key, output);
  }
}

/**
 * Writes a command's outputs one by one, atomically, and remembers what it wrote. A failed write throws a
 * FileError naming the file, the real cause ("no space left on device", "read-only file system", …) and a fix,
 * and saying that the earlier file at that path is intact and which outputs were already written.
 */
export class OutputWriter {
  readonly written: string[] = [];

  /** Writes `data` to `path` atomically; `flag` names the option it came from in the error. Throws FileError. */
  write(flag: string, path: string, data: Uint8Array | string): void {
    try {
      writeFileAtomic(path, data);
    } catch (e) {
      throw fileError(e, path, 'write', this.intactNote(path), flag);
    }
    this.written.push(path);
  }

  /** What a failure at `path` leaves: the old file there, and the outputs written before it. */
  intactNote(path: string): string {
    const kept = `any file already at ${path} is intact`;
    return this.written.length ? `${kept}; written before the error: ${summarizePaths(this.written)}` : `${kept}; no output was written`;
  }
}

/** Up to three paths in full, else the first two, an ellipsis, the last and the count. */
export function summarizePaths(paths: string[]): string {
  if (paths.length <= 3) return paths.join(', ');
  return `${paths[0]}, ${paths[1]}, …, ${paths[paths.length - 1]} (${paths.length} files)`;
}
