// Opening an input file only when it is a regular file: a directory, FIFO, socket or device given where a file
// is expected is refused by its kind, before any read (a blocking read of a FIFO would hang forever).
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

export interface OpenFile {
  fd: number;
  size: number;
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** errno → words, without Node's stack or syscall noise. */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'is a directory',
    ENOTDIR: 'a folder on the path is a file', ELOOP: 'too many symbolic links', EIO: 'input/output error',
    ENAMETOOLONG: 'the name is too long', EMFILE: 'too many open files',
  };
  if (err?.code && reasons[err.code]) return reasons[err.code];
  return (err?.message ?? String(e)).split('\n')[0].slice(0, 120);
}

/**
 * Opens `path` for reading when it is a regular file (symbolic links to one are followed). The open never
 * blocks: it uses O_NONBLOCK, and the descriptor is checked again with fstat, so a file swapped for a FIFO in
 * between is refused too. `fail(reason)` makes the error thrown (callers name the file and the fix).
 */
export function openRegularFile(path: string, fail: (reason: string) => Error): OpenFile {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (e) {
    throw fail(describeFsError(e));
  }
  if (!stats.isFile()) throw fail(`is ${kindOf(stats)}, not a regular file`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw fail(`cannot open (${describeFsError(e)})`);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw fail(`is ${kindOf(opened)}, not a regular file`);
    return { fd, size: opened.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Fills `into` from byte `position` of `fd`; fails (via `fail`) if the file ends first or the read errs. */
export function readExactly(fd: number, into: Uint8Array, position: number, fail: (reason: string) => Error): void {
  let got = 0;
  while (got < into.length) {
    let n: number;
    try {
      n = readSync(fd, into, got, into.length - got, position + got);
    } catch (e) {
      throw fail(`read failed (${describeFsError(e)})`);
    }
    if (n === 0) throw fail(`the file ended after ${position + got} bytes while being read (was it changed meanwhile?)`);
    got += n;
  }
}
