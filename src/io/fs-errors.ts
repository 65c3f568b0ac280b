// File-system errors as one clean sentence: the path, what was being done, the real cause in words and a fix.
// Node's own messages ("ENOSPC: no space left on device, write") name neither the file a user chose nor what to
// do about it, and arrive with a stack.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';

export class FileError extends Error {
  constructor(message: string, readonly code?: string, readonly path?: string) {
    super(message);
    this.name = 'FileError';
  }
}

/** A Node system error from node:fs (it has a string `code` such as 'ENOSPC' and usually `syscall` and `path`). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((e as NodeJS.ErrnoException).code!);
}

const REASONS: Record<string, [reason: string, fix: string]> = {
  ENOSPC: ['no space left on device', 'free some space or choose a folder on another disk'],
  EDQUOT: ['the disk quota is exhausted', 'free some space or choose a folder on another disk'],
  EROFS: ['read-only file system', 'choose a folder on a writable disk'],
  EACCES: ['permission denied', 'choose a folder you may write to, or change its permissions'],
  EPERM: ['operation not permitted', 'choose a folder you may write to, or change its permissions'],
  EISDIR: ['is a directory', 'give a file name, not a folder'],
  ENOENT: ['no such file or folder', 'check the path'],
  EEXIST: ['already exists', 'choose another name'],
  EMFILE: ['too many open files', 'close other programs or raise the limit (ulimit -n)'],
  ENFILE: ['too many open files on the system', 'close other programs'],
  EIO: ['input/output error (a failing disk or a lost network mount)', 'check the disk'],
  ENAMETOOLONG: ['the name is too long', 'choose a shorter path'],
  EFBIG: ['the file is too large for this file system', 'choose a folder on another file system'],
  EBUSY: ['the file is busy', 'close the program holding it'],
  ELOOP: ['too many symbolic links', 'check the path for a link loop'],
  ENXIO: ['no such device', 'check the path'],
  ETXTBSY: ['the file is busy', 'close the program holding it'],
};

/** The first existing component of `path` (or its parents) that is not a folder, if any. */
export function fileInTheWay(path: string): string | undefined {
  let p = path;
  for (;;) {
    try {
      return statSync(p).isDirectory() ? undefined : p;
    } catch {
      const up = dirname(p);
      if (up === p) return undefined;
      p = up;
    }
  }
}

/**
 * `e` (any thrown value) as a FileError: "cannot <action> <label> <path>: <cause>; <fix>", plus `note` (e.g. that
 * the last good checkpoint is intact); `label` names the flag the path came from (e.g. "--out"). ENOTDIR, and EEXIST from mkdir, name the file that stands where a folder must be.
 */
export function fileError(e: unknown, path: string, action: string, note?: string, label?: string): FileError {
  if (e instanceof FileError) return note ? new FileError(`${e.message}; ${note}`, e.code, e.path) : e;
  const code = isFsError(e) ? e.code : undefined;
  let cause: string;
  if (code === 'ENOTDIR' || (code === 'EEXIST' && (e as NodeJS.ErrnoException).syscall === 'mkdir')) {
    const file = fileInTheWay(path) ?? path;
    cause = `${file} is a file, not a folder; remove it or choose another path`;
  } else if (code && REASONS[code]) {
    cause = `${REASONS[code][0]}; ${REASONS[code][1]}`;
  } else {
    cause = code ? `${code} (${(e as Error).message})` : String((e as Error)?.message ?? e);
  }
  return new FileError(`cannot ${action} ${label ? `${label} ` : ''}${path}: ${cause}${note ? `; ${note}` : ''}`, code, path);
}

/**
 * Runs `fn` (sync or async), turning a file-system error into fileError(e, path, action, note()); other errors
 * pass through unchanged.
 */
export function withFileErrors<T>(path: string, action: string, fn: () => T, note?: () => string | undefined): T {
  const wrap = (e: unknown): never => {
    if (isFsError(e) || e instanceof FileError) throw fileError(e, path, action, note?.());
    throw e;
  };
  try {
    const result = fn();
    return (result instanceof Promise ? result.catch(wrap) : result) as T;
  } catch (e) {
    return wrap(e);
  }
}
