// File-system faults for every command that writes files other than train (generate, evaluate, critic,
// export-generator, metric-sensitivity, train-classifier): each bad output is refused before any GPU work, as one
// clean line with its real cause; a write that fails later (a full disk) names its cause, the intact earlier file
// and what was written; and train-classifier refuses a batch its step cannot hold. Real read-only and full disks
// are tmpfs mounts where this machine allows mounting, else those tests are skipped with the reason.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, rng } from './helpers.js';
import { setRngState } from '../src/tensor/state.js';
import { tensor } from '../src/tensor/ops/create.js';
import { tidy, backward } from '../src/tensor/autograd.js';
import { softmaxCrossEntropy } from '../src/tensor/ops/loss.js';
import { Adam } from '../src/nn/adam.js';
import { buildGenerator, dcganInit } from '../src/gan/models.js';
import { moduleState } from '../src/gan/checkpoint.js';
import { FeatureClassifier, classifierState, CLASSIFIER_FORMAT } from '../src/gan/classifier.js';
import { classifierStepTooLarge, largestClassifierBuffer } from '../src/gan/classifier-memory.js';
import { bufferLimit } from '../src/gan/step-memory.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { isAtomicTempName } from '../src/io/atomic.js';
import { FileError } from '../src/io/fs-errors.js';
import { RunLockError } from '../src/io/run-lock.js';
import { cliErrorLine, UsageError } from '../src/node/args.js';
import { Progress } from '../src/node/progress.js';
import { OutputWriter, checkOutputs, summarizePaths } from '../src/node/outputs.js';
import { generateImages } from '../src/cli/generate.js';
import { evaluate } from '../src/cli/evaluate.js';
import { critic } from '../src/cli/critic.js';
import { exportGenerator } from '../src/cli/export-generator.js';
import { metricSensitivity } from '../src/cli/metric-sensitivity.js';
import { trainClassifier } from '../src/cli/train-classifier.js';

let engine: Engine;
/** The engine behind a guard: reading its limits is allowed, anything else is GPU work and throws. */
let guarded: Engine;
let dataDir: string;
let generatorPath: string;
let classifierPath: string;
const quietProgress = new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9);
const quiet = { log: () => undefined, progress: quietProgress };
const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-outputs-'));

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** `train` and 10 test noisy 28×28 images, labels 0…9 in turn. */
function writeData(dir: string, train = 40): void {
  const r = rng(5);
  for (const [prefix, n] of [['train', train], ['t10k', 10]] as const) {
    const images = Uint8Array.from({ length: n * 784 }, () => Math.floor(256 * r()));
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idx([n, 28, 28], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([n], Uint8Array.from({ length: n }, (_, i) => i % 10)));
  }
}

/** The temp files a failed atomic write could have left anywhere under `dir`. */
function tempFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => isAtomicTempName(p.split('/').pop()!));
}

function tryMount(options: string): string | null {
  const dir = tmp();
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status === 0 ? dir : null;
}
const mounts: string[] = [];
const readOnly = tryMount('size=1m,ro');
if (readOnly) mounts.push(readOnly);
const canMount = readOnly !== null;
afterAll(() => {
  for (const dir of mounts) spawnSync('umount', [dir]);
});

beforeAll(async () => {
  engine = await getEngine();
  guarded = new Proxy(engine, {
    get(target, prop) {
      if (prop === 'device') return { limits: target.device.limits };
      throw new Error(`GPU work started (engine.${String(prop)}) before the outputs were checked`);
    },
  });
  dataDir = tmp();
  writeData(dataDir);
  const dir = tmp();
  setRngState(engine, { seed: 1, counter: 0 });
  const G = buildGenerator(engine, 16, 8);
  dcganInit(engine, G);
  generatorPath = join(dir, 'generator.safetensors');
  writeSafetensors(generatorPath, await moduleState('generator.', G));
  G.dispose();
  const classifier = new FeatureClassifier(engine).eval();
  classifierPath = join(dir, 'classifier.safetensors');
  writeSafetensors(classifierPath, await classifierState(classifier), { format: CLASSIFIER_FORMAT });
  classifier.dispose();
});

type Run = (args: string[]) => Promise<unknown>;
const commands: Record<string, { run: Run; files: { flag: string; ext: string }[]; reads?: string }> = {
  generate: { run: (a) => generateImages(['--checkpoint', generatorPath, '--n', '4', ...a], guarded), files: [{ flag: '--out', ext: 'png' }], reads: '--checkpoint' },
  evaluate: {
    run: (a) => evaluate(['--checkpoint', generatorPath, '--classifier', classifierPath, '--data', dataDir, '--n', '10', ...a], guarded),
    files: [{ flag: '--json', ext: 'json' }, { flag: '--pairs', ext: 'png' }], reads: '--checkpoint',
  },
  critic: {
    run: (a) => critic(['--checkpoint', generatorPath, '--classifier', classifierPath, '--data', dataDir, '--n', '10', '--steps', '1', '--batch-size', '8', ...a], guarded, () => undefined, quietProgress),
    files: [{ flag: '--json', ext: 'json' }], reads: '--checkpoint',
  },
  'export-generator': { run: async (a) => exportGenerator(['--checkpoint', generatorPath, ...a]), files: [{ flag: '--out', ext: 'safetensors' }], reads: '--checkpoint' },
  'metric-sensitivity': {
    run: (a) => metricSensitivity(['--classifier', classifierPath, '--data', dataDir, '--n', '10', ...a], guarded),
    files: [{ flag: '--json', ext: 'json' }, { flag: '--figure', ext: 'png' }], reads: '--classifier',
  },
  'train-classifier': { run: (a) => trainClassifier(['--data', dataDir, '--epochs', '1', '--batch-size', '8', ...a], { engine: guarded, ...quiet }), files: [{ flag: '--out', ext: 'safetensors' }] },
};

/** The error a run ends with; it must be one clean line from an expected error class. */
async function refusal(run: Promise<unknown>): Promise<Error> {
  const error = await run.then(() => undefined, (e: unknown) => e);
  expect(error, 'the command should have failed').toBeInstanceOf(Error);
  const e = error as Error;
  expect(['FileError', 'UsageError'], `${e.name}: ${e.message}`).toContain(e.name);
  expect(e.message).not.toMatch(/\n/);
  expect(cliErrorLine(e)).toBe(`error: ${e.message}`);
  return e;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('every output is checked before any GPU work', () => {
  it('the guard works: with good outputs each GPU command reaches the GPU', async () => {
    for (const name of ['generate', 'evaluate', 'critic', 'metric-sensitivity', 'train-classifier']) {
      const { run, files } = commands[name];
      const args = files.flatMap((f) => [f.flag, join(tmp(), `ok.${f.ext}`)]);
      await expect(run(args), name).rejects.toThrow(/GPU work started/);
    }
  });

  for (const [name, { run, files, reads }] of Object.entries(commands)) {
    for (const { flag, ext } of files) {
      const cases: [string, (dir: string) => string, (path: string) => RegExp][] = [
        ['a folder where the file goes', (d) => { mkdirSync(join(d, `x.${ext}`)); return join(d, `x.${ext}`); },
          (p) => new RegExp(`^cannot write ${flag} ${esc(p)}: is a directory; give a file name, not a folder`)],
        ['a path under a regular file', (d) => { writeFileSync(join(d, 'f'), 'x'); return join(d, 'f', 'sub', `x.${ext}`); },
          (p) => new RegExp(`^cannot create the folder ${flag} .*: ${esc(join(p, '..', '..'))} is a file, not a folder; remove it or choose another path`)],
        ['a folder that takes no new files (/proc)', () => `/proc/atelier-${ext}`,
          () => new RegExp(`^cannot write to ${flag} /proc: this folder does not take new files`)],
        ...(reads ? [[`the ${reads} file it reads`, () => (reads === '--checkpoint' ? generatorPath : classifierPath),
          (p: string) => new RegExp(`^${flag} ${esc(p)} is the ${reads} file this command reads; writing it would replace that file`)] as [string, (d: string) => string, (p: string) => RegExp]] : []),
      ];
      for (const [what, make, message] of cases) {
        it(`${name} ${flag}: refuses ${what}`, async () => {
          const path = make(tmp());
          const before = existsSync(path) && statSync(path).isFile() ? readFileSync(path) : undefined;
          const e = await refusal(run([flag, path]));
          expect(e.message).toMatch(message(path));
          if (before) expect(readFileSync(path).equals(before)).toBe(true);
        });
      }
      it.skipIf(!canMount)(`${name} ${flag}: refuses a read-only disk, in the folder and below it (skipped where mount -t tmpfs is not permitted)`, async () => {
        for (const path of [join(readOnly!, `x.${ext}`), join(readOnly!, 'sub', `x.${ext}`)]) {
          const e = await refusal(run([flag, path]));
          expect(e.message).toMatch(new RegExp(`^cannot (write to|create the folder) ${flag} ${esc(readOnly!)}.*: read-only file system; choose a folder on a writable disk`));
        }
      });
    }
  }

  it('generate --each: a file given as the folder, a folder where an image goes, --out among the images', async () => {
    const d = tmp();
    writeFileSync(join(d, 'file'), 'x');
    let e = await refusal(commands.generate.run(['--out', join(d, 'g.png'), '--each', join(d, 'file')]));
    expect(e.message).toBe(`cannot create the folder --each ${join(d, 'file')}: ${join(d, 'file')} is a file, not a folder; remove it or choose another path`);
    mkdirSync(join(d, 'each', '0002.png'), { recursive: true });
    e = await refusal(commands.generate.run(['--out', join(d, 'g.png'), '--each', join(d, 'each')]));
    expect(e.message).toMatch(new RegExp(`^cannot write --each ${esc(join(d, 'each', '0002.png'))}: is a directory`));
    e = await refusal(commands.generate.run(['--out', join(d, 'e2', '0003.png'), '--each', join(d, 'e2')]));
    expect(e.message).toMatch(/^--each .*e2\/0003.png and --out .*e2\/0003.png are the same file; one would replace the other/);
    expect(existsSync(join(d, 'e2'))).toBe(false);
  });

  it('generate --interpolate: its grid is checked too', async () => {
    const d = tmp();
    mkdirSync(join(d, 'g_interpolation.png'));
    const e = await refusal(commands.generate.run(['--out', join(d, 'g.png'), '--interpolate', '3']));
    expect(e.message).toMatch(/^cannot write --interpolate .*g_interpolation.png: is a directory/);
  });

  it('evaluate and metric-sensitivity: two outputs on one file', async () => {
    const d = tmp();
    let e = await refusal(commands.evaluate.run(['--json', join(d, 'a'), '--pairs', join(d, '.', 'a')]));
    expect(e.message).toMatch(/^--pairs .*a and --json .*a are the same file/);
    e = await refusal(commands['metric-sensitivity'].run(['--json', join(d, 'b'), '--figure', join(d, 'b')]));
    expect(e.message).toMatch(/^--figure .*b and --json .*b are the same file/);
  });

  it('train-classifier: its record is checked too, and an --out in .json (the record\'s own name) is refused', async () => {
    const d = tmp();
    mkdirSync(join(d, 'c.json'));
    let e = await refusal(commands['train-classifier'].run(['--out', join(d, 'c.safetensors')]));
    expect(e.message).toMatch(/^cannot write --out's record .*c.json: is a directory/);
    e = await refusal(commands['train-classifier'].run(['--out', join(d, 'w.json')]));
    expect(e.message).toMatch(/--out .*w.json: the record of the run is written beside the weights as .*w.json, .*use --out .*w.safetensors/);
  });

  it('a symbolic link to an input is the input', async () => {
    const d = tmp();
    execFileSync('ln', ['-s', generatorPath, join(d, 'link.safetensors')]);
    const e = await refusal(commands['export-generator'].run(['--out', join(d, 'link.safetensors')]));
    expect(e.message).toMatch(/is the --checkpoint file this command reads/);
  });
});

describe('writes after the checks', () => {
  it('OutputWriter: a failed write names the cause, that the earlier file is intact, and what was written', () => {
    const d = tmp();
    const writer = new OutputWriter();
    writer.write('--out', join(d, 'a.png'), 'a');
    writeFileSync(join(d, 'b.json'), 'old');
    mkdirSync(join(d, 'c.png'));
    expect(() => writer.write('--json', join(d, 'c.png'), 'c')).toThrow(FileError);
    expect(() => writer.write('--json', join(d, 'c.png'), 'c')).toThrow(
      new RegExp(`^cannot write --json ${esc(join(d, 'c.png'))}: is a directory; give a file name, not a folder; any file already at .*c.png is intact; written before the error: ${esc(join(d, 'a.png'))}$`));
    expect(writer.written).toEqual([join(d, 'a.png')]);
    expect(tempFiles(d)).toEqual([]);
    expect(readFileSync(join(d, 'b.json'), 'utf8')).toBe('old');
    expect(() => new OutputWriter().write('--out', join(d, 'b.json', 'x'), 'x')).toThrow(/b.json is a file, not a folder.*; no output was written$/);
    expect(summarizePaths(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, …, e (5 files)');
  });

  it('generate writes the grid, every image and the interpolation grid, and lists them', async () => {
    const d = tmp();
    const { files } = await generateImages(['--checkpoint', generatorPath, '--n', '3', '--out', join(d, 'new', 'g.png'), '--each', join(d, 'each'), '--interpolate', '2'], engine);
    expect(files).toEqual([join(d, 'new', 'g.png'), ...['0000', '0001', '0002'].map((i) => join(d, 'each', `${i}.png`)), join(d, 'new', 'g_interpolation.png')]);
    for (const f of files) expect(PNG.sync.read(readFileSync(f)).width).toBeGreaterThan(0);
    expect(tempFiles(d)).toEqual([]);
  });

  it.skipIf(!canMount)('generate --each on a disk that fills midway: the images before are whole, the rest untouched, no temp files (skipped where mount is not permitted)', async () => {
    const d = tryMount('size=128k')!;
    mounts.push(d);
    const n = 60;
    // empty images from an earlier run: tmpfs gives them no pages, and a torn write would leave bytes in them
    mkdirSync(join(d, 'each'));
    for (let i = 0; i < n; i++) writeFileSync(join(d, 'each', `${String(i).padStart(4, '0')}.png`), '');
    const e = await refusal(generateImages(['--checkpoint', generatorPath, '--n', String(n), '--out', join(d, 'g.png'), '--each', join(d, 'each')], engine));
    const failed = /^cannot write --each .*\/(\d{4})\.png: no space left on device; free some space or choose a folder on another disk; any file already at .*\.png is intact; written before the error: (.*)$/.exec(e.message);
    expect(failed, e.message).not.toBeNull();
    const k = Number(failed![1]);
    expect(k).toBeGreaterThan(0);
    expect(failed![2]).toContain(join(d, 'g.png'));
    expect(failed![2]).toContain(`(${k + 1} files)`);
    for (let i = 0; i < n; i++) {
      const bytes = readFileSync(join(d, 'each', `${String(i).padStart(4, '0')}.png`));
      if (i < k) expect(PNG.sync.read(bytes).width, `image ${i}`).toBe(28);
      else expect(bytes.length, `image ${i}`).toBe(0);
    }
    expect(tempFiles(d)).toEqual([]);
  });

  it.skipIf(!canMount)('a JSON writer on a disk that fills during the measurement: the earlier file is intact and the error says so (skipped where mount is not permitted)', async () => {
    const d = tryMount('size=64k')!;
    mounts.push(d);
    const json = join(d, 'sensitivity.json');
    writeFileSync(json, '{"earlier": true}\n');
    let filled = false;
    const fill = () => {
      if (filled) return;
      filled = true;
      const fd = openSync(join(d, 'filler'), 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(4096));
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
    };
    const e = await refusal(metricSensitivity(['--classifier', classifierPath, '--data', dataDir, '--n', '10', '--json', json], engine, fill));
    expect(filled).toBe(true);
    expect(e.message).toBe(`cannot write --json ${json}: no space left on device; free some space or choose a folder on another disk; any file already at ${json} is intact; no output was written`);
    expect(readFileSync(json, 'utf8')).toBe('{"earlier": true}\n');
    expect(tempFiles(d)).toEqual([]);
  });
});

describe('runCli prints file errors as one line', () => {
  it('FileError, RunLockError and a raw file-system error no command caught', () => {
    expect(cliErrorLine(new FileError('cannot write --out /x: read-only file system'))).toBe('error: cannot write --out /x: read-only file system');
    expect(cliErrorLine(new RunLockError('--out r is in use by another training, process 7', { pid: 7, host: 'h', since: 'then' }))).toMatch(/^error: --out r is in use/);
    const raw = Object.assign(new Error("ENOSPC: no space left on device, write '/d/f'"), { code: 'ENOSPC', syscall: 'write', path: '/d/f' });
    expect(cliErrorLine(raw)).toBe('error: cannot write /d/f: no space left on device; free some space or choose a folder on another disk');
    expect(cliErrorLine(new Error('a bug'))).toBeUndefined();
  });
});

describe('train-classifier: impossible batch sizes', () => {
  it('the largest buffer of a step is the second convolution\'s unfolded input, 56,448 bytes per image', () => {
    expect(largestClassifierBuffer(100)).toMatchObject({ bytes: 100 * 4 * 32 * 9 * 49, shape: [288, 4900] });
    expect(largestClassifierBuffer(100).what).toMatch(/layer 3's unfolded input/);
    expect(largestClassifierBuffer(1).what).toMatch(/layer 7's weight/); // 1.6 MB, whatever the batch
    const limit = 134_217_728;
    expect(classifierStepTooLarge(2377, limit)).toBeNull();
    expect(classifierStepTooLarge(2378, limit)).toMatchObject({ largestBatch: 2377, limitBytes: limit });
    expect(classifierStepTooLarge(4096, limit)?.largestBatch).toBe(2377);
    expect(classifierStepTooLarge(10, 1000)?.largestBatch).toBe(0);
  });

  it('the estimate holds: no buffer of a real training step is larger (and the largest is close to it)', async () => {
    const b = 48;
    const model = new FeatureClassifier(engine);
    const optimizer = new Adam(engine, model.parameters(), { lr: 1e-3 });
    const pool = (engine as unknown as { pool: { acquire: (bytes: number, label?: string) => GPUBuffer } }).pool;
    const acquire = pool.acquire;
    let largest = 0;
    pool.acquire = (bytes, label) => {
      largest = Math.max(largest, bytes);
      return acquire.call(pool, bytes, label);
    };
    try {
      const targets = Float32Array.from({ length: b * 10 }, (_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0));
      const loss = tidy(engine, () => {
        const l = softmaxCrossEntropy(model.forward(tensor(engine, new Float32Array(b * 784).fill(0.1), [b, 1, 28, 28])), tensor(engine, targets, [b, 10]));
        backward(l);
        optimizer.update();
        return l;
      });
      await loss.item();
      loss.dispose();
    } finally {
      pool.acquire = acquire;
      optimizer.dispose();
      model.dispose();
    }
    const estimate = largestClassifierBuffer(b).bytes;
    expect(largest).toBeLessThanOrEqual(estimate);
    expect(largest).toBeGreaterThan(0.4 * estimate); // where the unfolded input sits in a texture, layer 0's output is the largest
  });

  it('a batch the device cannot hold is refused before anything is created, with the size, the limit and a batch that fits', async () => {
    const big = tmp();
    writeData(big, 4100);
    let checked = 0;
    for (const b of [2378, 4096]) {
      const expected = classifierStepTooLarge(b, bufferLimit(engine.device.limits));
      if (!expected) continue; // a device with larger limits runs it
      const out = join(tmp(), 'models', 'c.safetensors');
      const e = await trainClassifier(['--data', big, '--batch-size', String(b), '--out', out], { engine, ...quiet }).catch((x: Error) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect((e as Error).message).toMatch(new RegExp(`^--batch-size ${b} needs a [\\d.]+ MB buffer \\(layer 3's unfolded input .*\\), more than the .* this device allows per buffer \\(maxStorageBufferBindingSize \\d+, maxBufferSize \\d+\\); use --batch-size ${expected.largestBatch} or less$`));
      expect(existsSync(join(out, '..'))).toBe(false);
      checked++;
    }
    // lavapipe and most devices allow 128 MiB per buffer: both are refused there
    if (bufferLimit(engine.device.limits) === 134_217_728) expect(checked).toBe(2);
  });
});
