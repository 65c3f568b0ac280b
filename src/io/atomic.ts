// Crash-safe file replacement: write a temp file beside the target, fsync it, rename it over the target.
// A reader sees either the old file or the complete new one, never a torn write. A failed write removes its
// temp file; one left by a kill is named so removeStaleTempFiles can find it.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeFolder } from './writable.js';

/** `.NAME.PID.RANDOM.tmp`: the temp files writeFileAtomic makes beside its target. */
const TEMP_NAME = /^\..+\.\d+\.[a-z0-9]+\.tmp$/;

export function isAtomicTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  makeFolder(dir);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const temp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const fd = openSync(temp, 'wx');
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (e) {
    closeQuietly(fd);
    removeQuietly(temp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (e) {
    removeQuietly(temp);
    throw e;
  }
  syncDir(dir);
}

/**
 * Removes the temp files a killed writeFileAtomic left in `dir` (not its subfolders); returns their names. Only
 * for a folder no other process writes to (a locked run folder).
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const stale = names.filter(isAtomicTempName);
  for (const name of stale) removeQuietly(join(dir, name));
  return stale;
}

/** Makes the rename itself durable; not every platform lets a directory be opened, so this is best effort. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

// Cleanup after a failure must not hide the failure's own error.
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already failing, or already gone
  }
}
