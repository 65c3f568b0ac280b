// Run folders without a GPU: the lock (live, own, stale and unreadable holders), metrics truncation on resume,
// stale temp files, and file-system faults reported with their real cause (real read-only and full tmpfs mounts
// where this machine allows mounting, else skipped with the reason).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { lockRunFolder, RunLockError, LOCK_FILE, processAlive } from '../src/io/run-lock.js';
import { truncateMetrics, removeStaleFiles, refuseExistingRun, prepareRunFolder, clearPreviousRun, checkpointOf } from '../src/node/run-folder.js';
import { writeFileAtomic, isAtomicTempName } from '../src/io/atomic.js';
import { fileError, FileError, withFileErrors, isFsError } from '../src/io/fs-errors.js';
import { ensureWritableDir, ensureWritableFile } from '../src/io/writable.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-folder-'));
const errno = (code: string, syscall = 'open', path = '/x') => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

/** A PID that ran and has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('run lock', () => {
  it('refuses a folder a live process holds, naming the folder and the PID', async () => {
    const dir = tmp();
    const child = spawn('sleep', ['30']);
    try {
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: child.pid, host: hostname(), since: 'then' }));
      expect(() => lockRunFolder(dir, `--out ${dir}`)).toThrow(RunLockError);
      expect(() => lockRunFolder(dir, `--out ${dir}`)).toThrow(new RegExp(`--out ${dir} is in use by another training, process ${child.pid}`));
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(child.pid);
    } finally {
      child.kill();
    }
  });

  it('refuses a second lock from the same process, and allows one after release', () => {
    const dir = tmp();
    const lock = lockRunFolder(dir);
    expect(() => lockRunFolder(dir)).toThrow(new RegExp(`process ${process.pid}`));
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockRunFolder(dir).release();
  });

  it.each([
    ['a dead PID', () => JSON.stringify({ pid: deadPid(), host: hostname(), since: 'then' })],
    ['another dead PID', () => JSON.stringify({ pid: deadPid(), host: hostname(), since: 'earlier' })],
  ])('takes over a stale lock of %s', (_what, content) => {
    const dir = tmp();
    const stale = content();
    writeFileSync(join(dir, LOCK_FILE), stale);
    const lock = lockRunFolder(dir);
    expect(lock.tookOver?.pid).toBe(JSON.parse(stale).pid);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([['empty', ''], ['not JSON', 'garbage'], ['another host', JSON.stringify({ pid: 1, host: 'elsewhere', since: 'then' })]])(
    'refuses a lock it cannot judge (%s) and says which file to delete', (_what, content) => {
      const dir = tmp();
      writeFileSync(join(dir, LOCK_FILE), content);
      expect(() => lockRunFolder(dir)).toThrow(new RegExp(`delete ${join(dir, LOCK_FILE)}`));
    });

  it('processAlive: this process yes, an exited one and nonsense no', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(deadPid())).toBe(false);
    expect(processAlive(0)).toBe(false);
    expect(processAlive(-5)).toBe(false);
  });
});

describe('metrics truncation on resume', () => {
  const line = (kind: string, step: number, epoch = 1) => JSON.stringify({ kind, epoch, step, loss_d: 1, loss_g: 2 });
  it.each([
    ['nothing past the checkpoint', [line('step', 2), line('epoch', 5)], 5, 2, false],
    ['an epoch line appended before a crash', [line('epoch', 5), line('step', 7, 2), line('epoch', 10, 2)], 5, 1, true],
    ['a torn last line', [line('epoch', 5), '{"kind":"ep'], 5, 1, true],
    ['a fresh start (step 0)', [line('epoch', 5)], 0, 0, true],
  ] as const)('%s', (_what, lines, step, keep, rewritten) => {
    const dir = tmp();
    const path = join(dir, 'metrics.jsonl');
    const text = lines.join('\n') + (lines.at(-1)!.endsWith('}') ? '\n' : '');
    writeFileSync(path, text);
    const kept = truncateMetrics(path, step);
    expect(kept).toHaveLength(keep);
    expect(kept.every((l) => l.step <= step)).toBe(true);
    const after = readFileSync(path, 'utf8');
    expect(after === text).toBe(!rewritten);
    expect(after.split('\n').filter(Boolean)).toHaveLength(keep);
  });

  it('a missing file is no history', () => {
    expect(truncateMetrics(join(tmp(), 'metrics.jsonl'), 3)).toEqual([]);
  });
});

describe('stale files and existing runs', () => {
  it('removes temp files of interrupted atomic writes and nothing else', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'checkpoints'));
    mkdirSync(join(dir, 'samples'));
    const stale = [join(dir, 'checkpoints', '.latest.safetensors.123.abc123.tmp'), join(dir, 'samples', '.epoch_001.png.9.zz.tmp'), join(dir, '.metrics.jsonl.1.q.tmp')];
    const keep = [join(dir, 'checkpoints', 'latest.safetensors'), join(dir, 'notes.tmp'), join(dir, 'samples', 'epoch_001.png')];
    for (const f of [...stale, ...keep]) writeFileSync(f, 'x');
    expect(removeStaleFiles(dir).sort()).toEqual([...stale].sort());
    for (const f of keep) expect(existsSync(f), f).toBe(true);
    // the names writeFileAtomic really uses match
    writeFileAtomic(join(dir, 'a.txt'), 'a');
    expect(isAtomicTempName('.a.txt.42.k3j4h5.tmp')).toBe(true);
    expect(isAtomicTempName('a.txt')).toBe(false);
  });

  it('refuses an existing run without --resume or --overwrite; --overwrite clears only what a run wrote', () => {
    const dir = tmp();
    expect(() => refuseExistingRun(dir, { resumingHere: false, overwrite: false })).not.toThrow();
    prepareRunFolder(dir);
    writeFileSync(join(dir, 'checkpoints', 'latest.safetensors'), 'x');
    writeFileSync(join(dir, 'checkpoints', 'epoch_002.safetensors'), 'x');
    writeFileSync(join(dir, 'samples', 'epoch_002.png'), 'x');
    writeFileSync(join(dir, 'metrics.jsonl'), 'x');
    writeFileSync(join(dir, 'notes.md'), 'mine');
    expect(() => refuseExistingRun(dir, { resumingHere: false, overwrite: false })).toThrow(/already holds a run.*--resume.*--overwrite/);
    expect(() => refuseExistingRun(dir, { resumingHere: true, overwrite: false })).not.toThrow();
    expect(() => refuseExistingRun(dir, { resumingHere: false, overwrite: true })).not.toThrow();
    clearPreviousRun(dir);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([]);
    expect(readdirSync(join(dir, 'samples'))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'notes.md', 'samples']);
  });
});

describe('--checkpoint of a run folder', () => {
  it('a run folder or its checkpoints folder is its latest checkpoint; files, missing paths and other folders stay as given', () => {
    const run = tmp();
    mkdirSync(join(run, 'checkpoints'));
    const latest = join(run, 'checkpoints', 'latest.safetensors');
    writeFileSync(latest, 'x');
    writeFileSync(join(run, 'checkpoints', 'epoch_001.safetensors'), 'x');
    expect(checkpointOf(run)).toBe(latest);
    expect(checkpointOf(join(run, 'checkpoints'))).toBe(latest);
    expect(checkpointOf(join(run, 'checkpoints', 'epoch_001.safetensors'))).toBe(join(run, 'checkpoints', 'epoch_001.safetensors'));
    expect(checkpointOf(join(run, 'missing.safetensors'))).toBe(join(run, 'missing.safetensors'));
    const empty = tmp();
    expect(checkpointOf(empty)).toBe(empty);
    expect(checkpointOf(undefined)).toBeUndefined();
  });
});

describe('file-system errors', () => {
  it.each([
    ['ENOSPC', 'write', /cannot write \/x: no space left on device; free some space/],
    ['EROFS', 'open', /cannot write \/x: read-only file system; choose a folder on a writable disk/],
    ['EISDIR', 'open', /cannot write \/x: is a directory/],
    ['EACCES', 'open', /cannot write \/x: permission denied/],
    ['ENOENT', 'open', /cannot write \/x: no such file or folder/],
    ['EDQUOT', 'write', /disk quota/],
    ['EWEIRD', 'write', /EWEIRD/],
  ])('%s is reported with its cause and a fix', (code, syscall, message) => {
    const e = fileError(errno(code, syscall), '/x', 'write', 'the last good checkpoint is intact');
    expect(e).toBeInstanceOf(FileError);
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/; the last good checkpoint is intact$/);
    expect(e.message).not.toMatch(/\n/);
  });

  it('names the file that stands where a folder must be (ENOTDIR, EEXIST from mkdir)', () => {
    const dir = tmp();
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expect(fileError(errno('ENOTDIR'), join(file, 'a', 'b'), 'create').message).toMatch(new RegExp(`${file} is a file, not a folder`));
    expect(fileError(errno('EEXIST', 'mkdir'), file, 'create').message).toMatch(new RegExp(`${file} is a file, not a folder`));
  });

  it('withFileErrors converts fs errors from sync and async functions and passes others through', async () => {
    expect(() => withFileErrors('/p', 'write', () => { throw errno('ENOSPC'); })).toThrow(/cannot write \/p: no space left/);
    await expect(withFileErrors('/p', 'write', async () => { throw errno('EROFS'); })).rejects.toThrow(/cannot write \/p: read-only/);
    expect(() => withFileErrors('/p', 'write', () => { throw new TypeError('bug'); })).toThrow(TypeError);
    expect(isFsError(errno('EIO'))).toBe(true);
    expect(isFsError(new Error('x'))).toBe(false);
  });

  it('ensureWritableDir: a file as the folder, a folder inside a file', () => {
    const dir = tmp();
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expect(() => ensureWritableDir(file, ['samples'], '--out')).toThrow(new RegExp(`cannot create the folder --out ${file}: ${file} is a file, not a folder`));
    expect(() => ensureWritableDir(join(file, 'run'), [], '--out')).toThrow(new RegExp(`${file} is a file, not a folder`));
    writeFileSync(join(dir, 'checkpoints'), 'x');
    expect(() => ensureWritableDir(dir, ['samples', 'checkpoints'], '--out')).toThrow(/checkpoints is a file, not a folder/);
    ensureWritableDir(join(dir, 'new', 'deep'), ['a', 'b']);
    expect(readdirSync(join(dir, 'new', 'deep')).sort()).toEqual(['a', 'b']);
  });

  it('ensureWritableFile: a folder where the file goes, a file where its folder goes', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'grid.png'));
    expect(() => ensureWritableFile(join(dir, 'grid.png'), '--out')).toThrow(/cannot write --out .*grid.png: is a directory/);
    writeFileSync(join(dir, 'f'), 'x');
    expect(() => ensureWritableFile(join(dir, 'f', 'grid.png'), '--out')).toThrow(/f is a file, not a folder/);
    ensureWritableFile(join(dir, 'sub', 'ok.png'));
    expect(existsSync(join(dir, 'sub'))).toBe(true);
    expect(readdirSync(join(dir, 'sub'))).toEqual([]);
  });
});

// Real faults need mounts (root in a container that allows them); without, these are skipped, and the injected
// errnos above cover the messages.
function tryMount(options: string): string | null {
  const dir = tmp();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}
const mounted: string[] = [];
const probeMount = tryMount('size=1m,ro');
if (probeMount) mounted.push(probeMount);
afterAll(() => {
  for (const dir of mounted) spawnSync('umount', [dir]);
});

describe.skipIf(!probeMount)('real faults on tmpfs mounts (skipped: mount -t tmpfs is not permitted here)', () => {
  let full: string;
  beforeAll(() => {
    full = tryMount('size=64k')!;
    mounted.push(full);
  });

  it('a read-only file system is reported as such, for the folder and for files in it', () => {
    expect(() => ensureWritableDir(join(probeMount!, 'run'), ['samples'], '--out')).toThrow(/read-only file system/);
    expect(() => ensureWritableDir(probeMount!, [], '--out')).toThrow(/cannot write to --out .*: read-only file system/);
    expect(() => ensureWritableFile(join(probeMount!, 'g.png'), '--out')).toThrow(/read-only file system/);
  });

  it('a full disk: the probe passes while there is room, a big atomic write fails cleanly and leaves the old file', () => {
    ensureWritableDir(full, ['checkpoints'], '--out');
    const path = join(full, 'checkpoints', 'latest.safetensors');
    writeFileAtomic(path, 'good');
    let error: unknown;
    try {
      writeFileAtomic(path, new Uint8Array(256 * 1024));
    } catch (e) {
      error = e;
    }
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(fileError(error, path, 'write').message).toMatch(/no space left on device/);
    expect(readFileSync(path, 'utf8')).toBe('good');
    expect(readdirSync(join(full, 'checkpoints'))).toEqual(['latest.safetensors']);
  });
});
