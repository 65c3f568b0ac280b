// One writer per folder: a lock file holding the owner's PID and host. A lock whose process is gone (killed,
// crashed) is stale and taken over; one held by a live process is refused with a RunLockError naming it.
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileError } from './fs-errors.js';

export const LOCK_FILE = 'train.lock';

export class RunLockError extends Error {
  constructor(message: string, readonly holder: LockHolder) {
    super(message);
    this.name = 'RunLockError';
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export interface RunLock {
  readonly path: string;
  /** Whether a stale lock (of a process no longer running) was taken over. */
  readonly tookOver: LockHolder | null;
  release(): void;
}

/** Whether a process with this PID runs on this machine (EPERM: it runs, under another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(h?.pid) ? h : null;
  } catch {
    return null;
  }
}

/**
 * Locks `dir` (which must exist) for this process. `label` names it in messages (e.g. "--out runs/a").
 * Throws RunLockError when a live process holds it, FileError when the lock cannot be written.
 */
export function lockRunFolder(dir: string, label = dir): RunLock {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  // Write the whole record under a private name, then link it into place: link fails if the lock exists, so
  // taking the lock is atomic and nobody ever reads a half-written one.
  const temp = join(dir, `.${LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    const fd = openSync(temp, 'wx');
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw fileError(e, path, 'write the lock file');
  }
  let tookOver: LockHolder | null = null;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkOrCreate(temp, path, me);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(e, path, 'write the lock file');
        const holder = readHolder(path);
        const stale = holder && holder.host === me.host && !processAlive(holder.pid);
        if (!holder || !stale || attempt > 2) {
          const who = holder ? `process ${holder.pid}${holder.host !== me.host ? ` on ${holder.host}` : ''} (since ${holder.since})` : 'another process';
          throw new RunLockError(`${label} is in use by another training, ${who}: ` +
            `wait for it to end or stop it, or train into another --out. If no such training runs, delete ${path}`, holder ?? { pid: 0, host: '', since: '' });
        }
        tookOver = holder;
        try {
          unlinkSync(path);
        } catch {
          // another process took it over first; the next attempt sees its lock
        }
      }
    }
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // best effort
    }
  }
  let released = false;
  return {
    path,
    tookOver,
    release() {
      if (released) return;
      released = true;
      if (readHolder(path)?.pid === me.pid) {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** link(temp, path); on a file system without hard links, an exclusive create of `path` written at once. */
function linkOrCreate(temp: string, path: string, me: LockHolder): void {
  try {
    linkSync(temp, path);
  } catch (e) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
  }
}
