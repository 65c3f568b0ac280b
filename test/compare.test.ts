// `npm run compare` on a tiny generated IDX set with two presets and a tiny budget: it writes the table, the JSON
// and both figures with finite numbers and the presets' exact parameter counts; bad flags and folders get one
// clean line and leave what was written; an interrupted comparison continues where it stopped.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, rng } from './helpers.js';
import { compare, type TrainRunner } from '../src/cli/compare.js';
import { train } from '../src/cli/train.js';
import { Progress } from '../src/node/progress.js';
import { cliErrorLine } from '../src/node/args.js';
import { findPreset, presetCounts } from '../src/gan/presets.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { FeatureClassifier, classifierState, CLASSIFIER_FORMAT } from '../src/gan/classifier.js';

let engine: Engine;
let dataDir: string;
let classifier: string;
const quiet = { log: () => undefined, progress: new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9) };
const MODELS = ['ganerator-2', 'mlp-discriminator'];

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** 40 train and 20 test images: class-dependent blobs with noise. */
function writeTinyDataset(dir: string): void {
  const r = rng(11);
  for (const [prefix, n] of [['train', 40], ['t10k', 20]] as const) {
    const images = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10;
      const cx = 6 + labels[i] * 1.6;
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const d = Math.hypot(x - cx, y - 14) / 6;
        images[i * 784 + y * 28 + x] = Math.min(255, Math.round(255 * Math.exp(-d * d) + 20 * r()));
      }
    }
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idx([n, 28, 28], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([n], labels));
  }
}

beforeAll(async () => {
  engine = await getEngine();
  dataDir = mkdtempSync(join(tmpdir(), 'atelier-compare-data-'));
  writeTinyDataset(dataDir);
  classifier = join(dataDir, 'classifier.safetensors');
  writeSafetensors(classifier, await classifierState(new FeatureClassifier(engine)), { format: CLASSIFIER_FORMAT });
});

const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-compare-'));
const calls: string[][] = [];
const inProcess: TrainRunner = async (args) => {
  calls.push(args);
  await train(args, { engine, ...quiet });
};
const flags = (out: string, extra: string[] = []) => [
  '--models', MODELS.join(','), '--data', dataDir, '--classifier', classifier, '--out', out,
  '--epochs', '1', '--limit', '16', '--batch-size', '8', '--n', '10', '--nearest', '4', '--timed-steps', '1', '--warmup-steps', '1', ...extra,
];

let firstOut: string;

describe('npm run compare', () => {
  it('writes the table, the JSON and both figures, with finite numbers and the presets\' exact counts', async () => {
    firstOut = tmp();
    calls.length = 0;
    const result = await compare(flags(firstOut), { engine, train: inProcess });
    expect(result.trained).toEqual(MODELS.map((model) => ({ model, action: 'train' })));
    // Every preset is trained on every class, the same budget (the ganerator presets' own default is ankle boots).
    expect(calls).toHaveLength(2);
    for (const args of calls) expect(args.filter((a) => a === '--class')).toHaveLength(10);
    for (const name of ['comparison.md', 'comparison.json', 'samples.png', 'nearest.png']) expect(existsSync(join(firstOut, name)), name).toBe(true);
    expect(readFileSync(join(firstOut, 'comparison.md'), 'utf8')).toBe(result.table + '\n');
    const json = JSON.parse(readFileSync(join(firstOut, 'comparison.json'), 'utf8'));
    expect(json.rows).toHaveLength(2);
    for (const [i, row] of result.rows.entries()) {
      const counts = presetCounts(findPreset(MODELS[i])!);
      expect(row.size).toMatchObject({ model: MODELS[i], generator: counts.generator, generatorBuffers: counts.generatorBuffers, discriminator: counts.discriminator });
      expect(row.size.ratio).toBeCloseTo(counts.generator / counts.discriminator, 12);
      expect(row.budget).toMatchObject({ epochs: 1, images: 16, batch: 8, steps: 2, secondsPerEpochSource: 'measured' });
      for (const v of [row.timing.msPerStep, row.timing.imagesPerSecond, row.budget.secondsPerEpoch, row.budget.secondsPerFullEpoch, row.quality.fid, row.quality.fidFloor,
        row.quality.fidRatio, row.quality.precision, row.quality.recall, row.quality.classKl, row.nearest.meanL2, row.nearest.seconds]) {
        expect(Number.isFinite(v), JSON.stringify(row)).toBe(true);
      }
      expect(row.quality.conditionalAccuracy).toBeNull();
      expect(row.nearest).toMatchObject({ count: 4, searched: 16 });
      // A distance over 784 pixels in [0, 1]: at most √784 = 28.
      expect(row.nearest.meanL2).toBeGreaterThan(0);
      expect(row.nearest.meanL2).toBeLessThanOrEqual(28);
      expect(row.nearest.meanL2Signed).toBeCloseTo(2 * row.nearest.meanL2, 12);
    }
    const big = result.rows[1].size;
    expect(big.percentOfLargest).toBe(100);
    expect(result.rows[0].size.percentOfLargest).toBeCloseTo((100 * result.rows[0].size.total) / big.total, 10);
    // Unconditional models show — in the conditional-accuracy column.
    expect(result.table).toMatch(/\| `ganerator-2` \| 104,881 \(\+1,760\) \| 29,089 \|/);
    expect(result.table.split('\n').filter((l) => l.startsWith('| `')).every((l) => !l.includes('NaN'))).toBe(true);
    expect(result.table).toMatch(/\| — \| [\d.]+ \|/);
    const samples = PNG.sync.read(readFileSync(join(firstOut, 'samples.png')));
    expect([samples.width, samples.height]).toEqual([16 * 30 + 2, 2 * 30 + 2]);
    const pairs = PNG.sync.read(readFileSync(join(firstOut, 'nearest.png')));
    expect([pairs.width, pairs.height]).toEqual([4 * 30 + 2, 4 * 30 + 2]);
  });

  it('bad flags and folders give one clean error line and keep what was written', async () => {
    const out = tmp();
    writeFileSync(join(out, 'comparison.md'), 'earlier\n');
    const cases: [string[], RegExp][] = [
      [['--models', 'ganerator-2,nope'], /^error: --models: unknown model "nope"/],
      [['--models', 'dcgan,dcgan'], /^error: --models dcgan,dcgan: a model is named twice/],
      [['--epochs', '0'], /^error: --epochs 0: must be at least 1/],
      [['--limit', 'mlp-discriminator=many'], /^error: --limit many: not a number/],
      [['--batch-size', 'dcgan=4'], /^error: --batch-size dcgan=4: dcgan is not among --models/],
      [['--epochs', 'nope=1'], /^error: --epochs nope=1: unknown model "nope"/],
      [['--n', '5'], /^error: --n 5: must be at least 10/],
      [['--n', '30'], /^error: --n 30: more than the 20 test images/],
      [['--class', 'hat'], /^error: --class: unknown class "hat"/],
      [['--seed=-1'], /^error: --seed -1: must be at least 0/],
      [['--frobnicate'], /^error: Unknown option '--frobnicate'/],
      [['--data', join(out, 'missing')], /^error: .*missing/],
      [['--classifier', join(out, 'missing.safetensors')], /^error: .*missing\.safetensors/],
      // A finished run of another budget in --runs is refused, not silently reused or replaced.
      [['--runs', join(firstOut, 'runs'), '--epochs', '2'], /^error: --runs .*ganerator-2 holds a run with --epochs 1, but this comparison trains ganerator-2 with --epochs 2; give compare --epochs ganerator-2=1/],
      [['--runs', join(firstOut, 'runs'), '--batch-size', '4'], /^error: --runs .*holds a run with --batch-size 8/],
    ];
    for (const [extra, message] of cases) {
      const error = await compare(flags(out, extra), { engine, train: inProcess }).then(() => null, (e: unknown) => e);
      const line = cliErrorLine(error);
      expect(line, `${extra.join(' ')}: ${String(error)}`).toMatch(message);
      expect(readFileSync(join(out, 'comparison.md'), 'utf8')).toBe('earlier\n');
    }
  });

  it('an interrupted comparison continues: finished runs are reused, the stopped one resumed to the same weights', async () => {
    const out = tmp();
    let first = true;
    const stopSecond: TrainRunner = async (args) => {
      // The second preset is stopped after its first step, as Ctrl-C stops `npm run train`.
      const stop = { requested: args.includes('mlp-discriminator') && first };
      await train(args, { engine, stop, ...quiet });
    };
    const error = await compare(flags(out), { engine, train: stopSecond }).then(() => null, (e: unknown) => e);
    expect(cliErrorLine(error)).toMatch(/^error: training mlp-discriminator stopped at epoch 0 of 1; its checkpoint is .*: run the same compare command again to continue it$/);
    expect(existsSync(join(out, 'comparison.md'))).toBe(false);
    first = false;
    calls.length = 0;
    const result = await compare(flags(out), { engine, train: inProcess });
    expect(result.trained).toEqual([{ model: 'ganerator-2', action: 'reuse' }, { model: 'mlp-discriminator', action: 'resume' }]);
    expect(calls).toEqual([['--resume', join(out, 'runs', 'mlp-discriminator')]]);
    // Resumed, the run ends bitwise equal to the uninterrupted one of the first test.
    for (const model of MODELS) {
      const a = readSafetensors(join(firstOut, 'runs', model, 'checkpoints', 'latest.safetensors')).tensors;
      const b = readSafetensors(join(out, 'runs', model, 'checkpoints', 'latest.safetensors')).tensors;
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const name of Object.keys(a)) expect(Buffer.from(b[name].data.buffer).equals(Buffer.from(a[name].data.buffer)), `${model} ${name}`).toBe(true);
    }
    expect(result.rows.map((r) => r.budget.steps)).toEqual([2, 2]);
  });
});
