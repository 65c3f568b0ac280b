// `npm run compare` on a tiny generated IDX set with two presets and one's class-conditional variant
// (PRESET+conditional) and a tiny budget: it writes the table, the JSON and both figures with finite numbers and
// the models' exact parameter counts, conditional accuracy for the conditional model alone; bad flags and folders
// (a run with or without --conditional against the entry's) get one clean line and leave what was written; an
// interrupted comparison continues where it stopped.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Engine } from '../src/runtime/engine.js';
import { writeTinyFashionMnist } from './tiny-fashion-mnist.js';
import { getEngine } from './helpers.js';
import { compare, parseCompareOptions, DEFAULT_LIMIT, type TrainRunner } from '../src/cli/compare.js';
import { trainArgsOf } from '../src/node/compare-runs.js';
import { loadGenerator } from '../src/node/load-generator.js';
import { samplePixels } from '../src/gan/sample.js';
import { train } from '../src/cli/train.js';
import { Progress } from '../src/node/progress.js';
import { cliErrorLine } from '../src/node/args.js';
import { findPreset, presetCounts, PRESET_NAMES, DEFAULT_WIDTH } from '../src/gan/presets.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { FeatureClassifier, classifierState, CLASSIFIER_FORMAT } from '../src/gan/classifier.js';

let engine: Engine;
let dataDir: string;
let classifier: string;
const quiet = { log: () => undefined, progress: new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9) };
const MODELS = ['ganerator-2', 'ganerator-2+conditional', 'mlp-discriminator'];
const CONDITIONAL_ROW = 1;
/** ganerator-2's G and D with --conditional: each batchnorm2d of G made conditional (γ and β for each of the 10
 * classes instead of one), and D's projection [10, 4·4·64] over the features before its last Dense. */
const conditionalCounts = () => {
  const preset = findPreset('ganerator-2')!;
  const plain = presetCounts(preset);
  const channels = preset.spec({ latentDim: preset.defaults.latentDim, ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH, spectralNorm: false }).generator
    .reduce((n, l) => n + (l.type === 'batchNorm2d' ? l.channels : 0), 0);
  return { ...plain, generator: plain.generator + (10 - 1) * 2 * channels, discriminator: plain.discriminator + 10 * 4 * 4 * 64 };
};

beforeAll(async () => {
  engine = await getEngine();
  dataDir = mkdtempSync(join(tmpdir(), 'atelier-compare-data-'));
  writeTinyFashionMnist(dataDir, { train: 40, test: 20, seed: 11 });
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
  it('writes the table, the JSON and both figures, with finite numbers and the models\' exact counts (the +conditional one\'s from its conditional spec)', async () => {
    firstOut = tmp();
    calls.length = 0;
    const result = await compare(flags(firstOut), { engine, train: inProcess });
    expect(result.trained).toEqual(MODELS.map((model) => ({ model, action: 'train' })));
    // Every preset is trained on every class, the same budget (the ganerator presets' own default is ankle boots).
    expect(calls).toHaveLength(3);
    for (const args of calls) expect(args.filter((a) => a === '--class')).toHaveLength(10);
    // The +conditional entry is its preset trained with --conditional, in a run folder of its own name.
    expect(calls.map((args) => [args[args.indexOf('--model') + 1], args.includes('--conditional'), args[args.indexOf('--out') + 1]]))
      .toEqual(MODELS.map((m, i) => [m.replace('+conditional', ''), i === CONDITIONAL_ROW, join(firstOut, 'runs', m)]));
    for (const name of ['comparison.md', 'comparison.json', 'samples.png', 'nearest.png']) expect(existsSync(join(firstOut, name)), name).toBe(true);
    expect(readFileSync(join(firstOut, 'comparison.md'), 'utf8')).toBe(result.table + '\n');
    const json = JSON.parse(readFileSync(join(firstOut, 'comparison.json'), 'utf8'));
    expect(json.rows).toHaveLength(3);
    for (const [i, row] of result.rows.entries()) {
      const counts = i === CONDITIONAL_ROW ? conditionalCounts() : presetCounts(findPreset(MODELS[i])!);
      expect(row.size).toMatchObject({ model: MODELS[i], generator: counts.generator, generatorBuffers: counts.generatorBuffers, discriminator: counts.discriminator });
      expect(row.size.ratio).toBeCloseTo(counts.generator / counts.discriminator, 12);
      expect(row.budget).toMatchObject({ epochs: 1, images: 16, batch: 8, steps: 2, secondsPerEpochSource: 'measured' });
      for (const v of [row.timing.msPerStep, row.timing.imagesPerSecond, row.budget.secondsPerEpoch, row.budget.secondsPerFullEpoch, row.quality.fid, row.quality.fidFloor,
        row.quality.fidRatio, row.quality.precision, row.quality.recall, row.quality.classKl, row.nearest.meanL2, row.nearest.seconds]) {
        expect(Number.isFinite(v), JSON.stringify(row)).toBe(true);
      }
      if (i === CONDITIONAL_ROW) {
        expect(row.quality.conditionalAccuracy).toBeGreaterThanOrEqual(0);
        expect(row.quality.conditionalAccuracy).toBeLessThanOrEqual(1);
      } else {
        expect(row.quality.conditionalAccuracy).toBeNull();
      }
      expect(row.run).toBe(join(firstOut, 'runs', MODELS[i]));
      expect(row.nearest).toMatchObject({ count: 4, searched: 16 });
      // A distance over 784 pixels in [0, 1]: at most √784 = 28.
      expect(row.nearest.meanL2).toBeGreaterThan(0);
      expect(row.nearest.meanL2).toBeLessThanOrEqual(28);
      expect(row.nearest.meanL2Signed).toBeCloseTo(2 * row.nearest.meanL2, 12);
    }
    const big = result.rows[2].size;
    expect(big.percentOfLargest).toBe(100);
    expect(result.rows[0].size.percentOfLargest).toBeCloseTo((100 * result.rows[0].size.total) / big.total, 10);
    expect(result.table).toMatch(/\| `ganerator-2` \| 104,881 \(\+1,760\) \| 29,089 \|/);
    expect(result.table).toMatch(/\| `ganerator-2\+conditional` \| 106,609 \(\+1,760\) \| 39,329 \|/);
    const lines = result.table.split('\n').filter((l) => l.startsWith('| `'));
    expect(lines.every((l) => !l.includes('NaN'))).toBe(true);
    // The quality table: the conditional model's accuracy in %, — for the unconditional ones.
    const quality = lines.filter((l) => / \| \d+ × /.test(l));
    expect(quality).toHaveLength(3);
    for (const [i, line] of quality.entries()) {
      expect(line.startsWith(`| \`${MODELS[i]}\` |`), line).toBe(true);
      expect(line, line).toMatch(i === CONDITIONAL_ROW ? /\| \d{1,3}\.\d % \| [\d.]+ \| [\d.]+ s over/ : /\| — \| [\d.]+ \| [\d.]+ s over/);
    }
    const samples = PNG.sync.read(readFileSync(join(firstOut, 'samples.png')));
    expect([samples.width, samples.height]).toEqual([16 * 30 + 2, 3 * 30 + 2]);
    const pairs = PNG.sync.read(readFileSync(join(firstOut, 'nearest.png')));
    expect([pairs.width, pairs.height]).toEqual([4 * 30 + 2, 6 * 30 + 2]);
    // The conditional model's row of samples asks for the classes in turn (samplePixels without `class`).
    const loaded = loadGenerator(engine, join(firstOut, 'runs', MODELS[CONDITIONAL_ROW], 'checkpoints', 'latest.safetensors'));
    try {
      expect(loaded.classes).toBe(10);
      const bytes = async (options: Parameters<typeof samplePixels>[2]) => Buffer.from((await samplePixels(engine, loaded, options)).pixels.buffer);
      const inTurn = await bytes({ n: 16, seed: 1 });
      expect(inTurn.equals(await bytes({ n: 16, seed: 1, labels: Int32Array.from({ length: 16 }, (_, i) => i % 10) }))).toBe(true);
      expect(inTurn.equals(await bytes({ n: 16, seed: 1, class: 0 }))).toBe(false);
    } finally {
      loaded.G.dispose();
    }
  });

  it('bad flags and folders give one clean error line and keep what was written', async () => {
    const out = tmp();
    writeFileSync(join(out, 'comparison.md'), 'earlier\n');
    // Run folders whose run was trained with the other --conditional than their entry's: the unconditional
    // ganerator-2 run as ganerator-2+conditional, and the conditional one as ganerator-2.
    const swapped = join(tmp(), 'runs');
    cpSync(join(firstOut, 'runs', 'ganerator-2'), join(swapped, 'ganerator-2+conditional'), { recursive: true });
    cpSync(join(firstOut, 'runs', 'ganerator-2+conditional'), join(swapped, 'ganerator-2'), { recursive: true });
    const cases: [string[], RegExp][] = [
      [['--models', 'ganerator-2,nope'], /^error: --models: unknown model "nope"/],
      [['--models', 'dcgan,dcgan'], /^error: --models dcgan,dcgan: a model is named twice/],
      [['--models', 'dcgan+conditional,dcgan+conditional'], /^error: --models dcgan\+conditional,dcgan\+conditional: a model is named twice/],
      [['--models', 'dcgan+conditonal'], /^error: --models: unknown model "dcgan\+conditonal"; use a preset \(dcgan, .*\), or PRESET\+conditional/],
      [['--models', 'nope+conditional'], /^error: --models: unknown model "nope\+conditional"/],
      [['--models', '+conditional'], /^error: --models: unknown model "\+conditional"/],
      [['--epochs', 'dcgan+conditional=2'], /^error: --epochs dcgan\+conditional=2: dcgan\+conditional is not among --models/],
      [['--limit', 'ganerator-2+conditional=0'], /^error: --limit 0: must be at least 1/],
      [['--batch-size', 'mlp-discriminator+cond=4'], /^error: --batch-size mlp-discriminator\+cond=4: unknown model "mlp-discriminator\+cond"/],
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
      // A run trained without --conditional is not reused for a +conditional entry, nor the other way round.
      [['--runs', swapped, '--models', 'ganerator-2+conditional'],
        /^error: --runs .*ganerator-2\+conditional holds a run trained without --conditional, but this comparison trains ganerator-2\+conditional with --conditional; move that folder away \(to .*ganerator-2 it is compared as ganerator-2\), or give another --runs$/],
      [['--runs', swapped, '--models', 'ganerator-2'],
        /^error: --runs .*ganerator-2 holds a run trained with --conditional, but this comparison trains ganerator-2 without --conditional; move that folder away \(to .*ganerator-2\+conditional it is compared as ganerator-2\+conditional\)/],
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
    expect(result.trained).toEqual([{ model: 'ganerator-2', action: 'reuse' }, { model: 'ganerator-2+conditional', action: 'reuse' }, { model: 'mlp-discriminator', action: 'resume' }]);
    expect(calls).toEqual([['--resume', join(out, 'runs', 'mlp-discriminator')]]);
    // Resumed, the run ends bitwise equal to the uninterrupted one of the first test.
    for (const model of MODELS) {
      const a = readSafetensors(join(firstOut, 'runs', model, 'checkpoints', 'latest.safetensors')).tensors;
      const b = readSafetensors(join(out, 'runs', model, 'checkpoints', 'latest.safetensors')).tensors;
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const name of Object.keys(a)) expect(Buffer.from(b[name].data.buffer).equals(Buffer.from(a[name].data.buffer)), `${model} ${name}`).toBe(true);
    }
    expect(result.rows.map((r) => r.budget.steps)).toEqual([2, 2, 2]);
  });

  it('PRESET+conditional: in the default models after dcgan, trained with --conditional, with per-model flags of its own', () => {
    expect(parseCompareOptions([]).models).toEqual([...PRESET_NAMES.slice(0, 1), 'dcgan+conditional', ...PRESET_NAMES.slice(1)]);
    expect(PRESET_NAMES[0]).toBe('dcgan');
    const { budgets } = parseCompareOptions(['--models', 'dcgan,dcgan+conditional,ganerator-1+conditional', '--epochs', '2', '--epochs', 'dcgan+conditional=3', '--limit', 'ganerator-1+conditional=50', '--batch-size', 'dcgan=16']);
    expect(budgets.map((b) => [b.model, b.preset, b.conditional, b.epochs, b.limit, b.batchSize])).toEqual([
      ['dcgan', 'dcgan', false, 2, DEFAULT_LIMIT, 16],
      ['dcgan+conditional', 'dcgan', true, 3, DEFAULT_LIMIT, findPreset('dcgan')!.defaults.batchSize],
      ['ganerator-1+conditional', 'ganerator-1', true, 2, 50, findPreset('ganerator-1')!.defaults.batchSize],
    ]);
    const args = budgets.map((b) => trainArgsOf(b, join('runs', b.model)));
    expect(args.map((a) => [a.slice(0, 2), a.includes('--conditional'), a[a.indexOf('--epochs') + 1], a[a.indexOf('--out') + 1]])).toEqual([
      [['--model', 'dcgan'], false, '2', join('runs', 'dcgan')],
      [['--model', 'dcgan'], true, '3', join('runs', 'dcgan+conditional')],
      [['--model', 'ganerator-1'], true, '2', join('runs', 'ganerator-1+conditional')],
    ]);
  });
});
