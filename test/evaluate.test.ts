// The feature classifier, its training CLI, the quality probe and `npm run evaluate` end to end on a tiny
// generated IDX set, the memorization search, and the commands' bad-input paths.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, rng } from './helpers.js';
import { randn } from '../src/tensor/ops/create.js';
import { noGrad, tidy } from '../src/tensor/autograd.js';
import { FeatureClassifier, loadClassifier, classifierState, CLASSIFIER_FEATURES } from '../src/gan/classifier.js';
import { buildGenerator, dcganInit } from '../src/gan/models.js';
import { moduleState } from '../src/gan/checkpoint.js';
import { createQualityProbe, nearestTraining, sampleAndClassify } from '../src/gan/evaluate.js';
import { generate } from '../src/gan/trainer.js';
import { tensor } from '../src/tensor/ops/create.js';
import { gpuNeighbourSearch } from '../src/gan/nearest.js';
import { trainClassifier } from '../src/cli/train-classifier.js';
import { evaluate } from '../src/cli/evaluate.js';
import { metricSensitivity, unsharp, scaleContrast, rmsChange, DEGRADATIONS } from '../src/cli/metric-sensitivity.js';
import { critic, parseCriticOptions } from '../src/cli/critic.js';
import { Progress } from '../src/node/progress.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { rngState, setRngState } from '../src/tensor/state.js';
import { generateImages } from '../src/cli/generate.js';
import { exportGenerator } from '../src/cli/export-generator.js';
import { loadGenerator } from '../src/node/load-generator.js';
import { loadGenerator as loadGeneratorBytes } from '../src/gan/load-generator.js';
import { sample } from '../src/gan/sample.js';
import { readSamplingTemperature } from '../src/gan/sampling-temperature.js';
import { CheckpointError } from '../src/nn/state-dict.js';

let engine: Engine;
let dataDir: string;
let classifierPath: string;
let generatorPath: string;
const quiet = { log: () => undefined, progress: new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9) };
const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-eval-'));

/** An IDX file of unsigned bytes. */
function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** 40 training and 10 test images: a bar whose angle depends on the class, plus noise. */
function writeBars(dir: string): void {
  const r = rng(11);
  for (const [prefix, n] of [['train', 40], ['t10k', 10]] as const) {
    const images = new Uint8Array(n * 784);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
    labels.forEach((label, i) => {
      const angle = (label * Math.PI) / 10;
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const across = Math.abs((x - 13.5) * Math.sin(angle) - (y - 13.5) * Math.cos(angle));
        images[i * 784 + y * 28 + x] = Math.min(255, Math.round((across < 2.5 ? 220 : 0) + 30 * r()));
      }
    });
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idxBytes([n, 28, 28], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idxBytes([n], labels));
  }
}

beforeAll(async () => {
  engine = await getEngine();
  dataDir = tmp();
  writeBars(dataDir);
  const dir = tmp();
  classifierPath = join(dir, 'classifier.safetensors');
  await trainClassifier(['--data', dataDir, '--epochs', '1', '--batch-size', '8', '--out', classifierPath], { engine, ...quiet });
  setRngState(engine, { seed: 1, counter: 0 });
  const G = buildGenerator(engine);
  dcganInit(engine, G);
  generatorPath = join(dir, 'generator.safetensors');
  writeSafetensors(generatorPath, await moduleState('generator.', G));
  G.dispose();
});

describe('feature classifier', () => {
  it('maps 28×28 images to 128 features and 10 logits', async () => {
    const model = new FeatureClassifier(engine).eval();
    const { features, logits } = noGrad(engine, () => tidy(engine, () => model.featuresAndLogits(randn(engine, [10, 1, 28, 28]))));
    expect(features.shape).toEqual([10, CLASSIFIER_FEATURES]);
    expect(logits.shape).toEqual([10, 10]);
    features.dispose();
    logits.dispose();
    model.dispose();
  });

  it('loads back what it saved, leaving the engine RNG alone', async () => {
    const model = new FeatureClassifier(engine).eval();
    const state = await classifierState(model);
    expect(Object.keys(state)).toContain('classifier.body.1.running_mean');
    const rngBefore = rngState(engine);
    const copy = loadClassifier(engine, state, 'test');
    expect(rngState(engine)).toEqual(rngBefore);
    const x = randn(engine, [10, 1, 28, 28], 0, 1, { seed: 3 });
    const [a, b] = noGrad(engine, () => [model.forward(x), copy.forward(x)]);
    expect(Array.from(await b.toArray())).toEqual(Array.from(await a.toArray()));
    for (const t of [x, a, b]) t.dispose();
    model.dispose();
    copy.dispose();
    expect(() => loadClassifier(engine, readSafetensors(generatorPath).tensors, 'gen.safetensors')).toThrow(/gen.safetensors: tensor "classifier.body.0.weight" is missing — is this a classifier/);
  });
});

describe('npm run train-classifier', () => {
  it('writes the weights and a record of the run', () => {
    const record = JSON.parse(readFileSync(classifierPath.replace(/\.safetensors$/, '.json'), 'utf8'));
    expect(record).toMatchObject({ epochs: 1, batch_size: 8, train_images: 40, test_images: 10, features: 128 });
    expect(record.command).toMatch(/^npm run train-classifier -- --data .* --epochs 1/);
    expect(record.test_accuracy).toBeGreaterThanOrEqual(0);
    expect(record.history).toHaveLength(1);
    expect(readSafetensors(classifierPath).metadata.format).toBe('atelier-classifier/1');
  });

  const bad: [string, string[], RegExp][] = [
    ['a missing data folder', ['--data', '/nonexistent/fashion'], /\/nonexistent\/fashion.*--data/s],
    ['a zero epoch count', ['--epochs', '0'], /--epochs 0: must be at least 1/],
    ['a bad learning rate', ['--lr', 'fast'], /--lr fast: not a number/],
    ['a batch larger than the data', ['--batch-size', '64'], /batch size 64 is larger than the 40 selected images/],
    ['an unknown flag', ['--epoch', '3'], /Unknown option '--epoch'/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what}`, async () => {
      const argv = ['--data', dataDir, '--out', join(tmp(), 'c.safetensors'), ...args];
      await expect(trainClassifier(argv, { engine, ...quiet })).rejects.toThrow(message);
    });
  }
});

describe('memorization search', () => {
  it('finds a training image copied among generated ones', async () => {
    const r = rng(5);
    const train = Float32Array.from({ length: 300 * 784 }, () => r());
    const generated = Float32Array.from({ length: 20 * 784 }, () => r());
    generated.set(train.subarray(123 * 784, 124 * 784), 7 * 784);
    // and a near copy: a training image with a faint change
    generated.set(train.subarray(42 * 784, 43 * 784).map((v) => v * 0.99), 11 * 784);
    const { index, distance } = await nearestTraining(generated, train, 784, gpuNeighbourSearch(engine, { baseBlock: 128 }));
    expect(index[7]).toBe(123);
    expect(distance[7]).toBe(0);
    expect(index[11]).toBe(42);
    expect(distance[11]).toBeLessThan(0.5);
    for (let i = 0; i < 20; i++) if (i !== 7 && i !== 11) expect(distance[i]).toBeGreaterThan(5);
  });
});

describe('quality probe', () => {
  it('measures FID and class balance, leaving G, its mode and the RNG alone', async () => {
    // Batches of 10 throughout, as in the other tests here: each new batch size can mean new pipelines to compile.
    const test = new Float32Array(10 * 784).map((_, i) => Math.sin(i) * 0.8);
    const probe = await createQualityProbe(engine, readSafetensors(classifierPath).tensors, test, { n: 20, batchSize: 10 });
    const G = buildGenerator(engine);
    const rngBefore = rngState(engine);
    const first = await probe.measure(G, 100);
    expect(rngState(engine)).toEqual(rngBefore);
    expect(G.training).toBe(true);
    expect(first.n).toBe(20);
    for (const v of [first.fid, first.classKl, first.inceptionScore]) expect(Number.isFinite(v)).toBe(true);
    expect(await probe.measure(G, 100)).toEqual(first);
    G.dispose();
    probe.dispose();
  });
});

describe('sampling temperature', () => {
  it('draws z with standard deviation T: the images are G(T·z) of the z at temperature 1', async () => {
    const G = buildGenerator(engine);
    dcganInit(engine, G);
    const classifier = loadClassifier(engine, readSafetensors(classifierPath).tensors, 'test');
    const { pixels } = await sampleAndClassify(engine, G, 100, classifier, 10, { seed: 4, batchSize: 10, temperature: 0.3, keepPixels: true });
    const unit = randn(engine, [10, 100, 1, 1], 0, 1, { key: { seed: 4, counter: 0 } });
    const scaled = tensor(engine, (await unit.toArray()).map((v) => 0.3 * v), unit.shape);
    const expected = generate(engine, G, scaled);
    const plain = generate(engine, G, unit);
    const [want, atOne] = [await expected.toArray(), await plain.toArray()];
    let differs = 0;
    for (let i = 0; i < want.length; i++) {
      expect(Math.abs(pixels![i] - want[i])).toBeLessThan(1e-4);
      if (Math.abs(pixels![i] - atOne[i]) > 1e-3) differs++;
    }
    expect(differs).toBeGreaterThan(want.length / 2);
    for (const t of [unit, scaled, expected, plain]) t.dispose();
    classifier.dispose();
    G.dispose();
  });
});

describe('npm run evaluate', () => {
  it('reports every measure, writes JSON and the closest-pairs figure', async () => {
    const dir = tmp();
    const json = join(dir, 'eval.json');
    const pairs = join(dir, 'pairs.png');
    const { report, table, files } = await evaluate(['--checkpoint', generatorPath, '--classifier', classifierPath, '--data', dataDir,
      '--n', '10', '--json', json, '--pairs', pairs], engine);
    expect(files).toEqual([json, pairs]);
    for (const key of ['fid', 'fid_floor', 'fid_ratio', 'precision', 'recall', 'reference_precision', 'reference_recall',
      'inception_score', 'inception_score_test', 'class_kl', 'class_kl_test'] as const) {
      expect(Number.isFinite(report[key]), key).toBe(true);
    }
    expect(report.class_histogram.reduce((a, b) => a + b, 0)).toBe(10);
    // per-class precision, weighted by how many images each class has, is the precision
    const weighted = report.by_class.precision.reduce((sum, p, c) => sum + (report.class_histogram[c] ? p * report.class_histogram[c] : 0), 0);
    expect(weighted / 10).toBeCloseTo(report.precision, 12);
    for (const v of Object.values(report.by_class)) expect(v).toHaveLength(10);
    expect(table).toMatch(/by predicted class +precision +real +recall +real/);
    expect(report.memorization.generated.count).toBe(10);
    // The real test images are noisy bars, each within a few pixels of a training image of its class.
    expect(report.memorization.test.median).toBeLessThan(report.memorization.generated.median);
    expect(report.closest_pairs).toHaveLength(10);
    expect(JSON.parse(readFileSync(json, 'utf8')).fid).toBe(report.fid);
    const png = PNG.sync.read(readFileSync(pairs));
    expect([png.width, png.height]).toEqual([2 * (4 * 30 + 2) + 8, 3 * 30 + 2]);
    expect(table).toMatch(/FID vs the 10 test images/);
    expect(table).toMatch(/FID depends on n/);
    expect(report.temperature).toBe(1);
    const cooler = await evaluate(['--checkpoint', generatorPath, '--classifier', classifierPath, '--data', dataDir, '--n', '10', '--temperature', '0.5'], engine);
    expect(cooler.report.temperature).toBe(0.5);
    expect(cooler.table).toMatch(/z at temperature 0.5/);
    expect(cooler.report.fid).not.toBe(report.fid);
  });

  const bad: [string, (paths: { gen: string; cls: string }) => string[], RegExp][] = [
    ['no checkpoint', () => [], /--checkpoint FILE is required/],
    ['a missing checkpoint', () => ['--checkpoint', '/nonexistent/g.safetensors'], /\/nonexistent\/g.safetensors: no such file/],
    ['a classifier given as the checkpoint', (p) => ['--checkpoint', p.cls], /"generator.0.weight" is missing — is this an atelier DCGAN checkpoint/],
    ['a generator given as the classifier', (p) => ['--checkpoint', p.gen, '--classifier', p.gen], /not a feature classifier.*npm run train-classifier/],
    ['a missing classifier', (p) => ['--checkpoint', p.gen, '--classifier', '/nonexistent/c.safetensors'], /classifier \/nonexistent\/c.safetensors: no such file/],
    ['more images than the test set', (p) => ['--checkpoint', p.gen, '--n', '11'], /--n 11: more than the 10 test images/],
    ['too few images', (p) => ['--checkpoint', p.gen, '--n', '5'], /--n 5: must be at least 10/],
    ['a zero temperature', (p) => ['--checkpoint', p.gen, '--temperature', '0'], /--temperature 0: must be greater than 0/],
    ['a missing data folder', (p) => ['--checkpoint', p.gen, '--data', '/nonexistent/fashion'], /\/nonexistent\/fashion.*--data/s],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what}`, async () => {
      const argv = ['--classifier', classifierPath, '--data', dataDir, ...args({ gen: generatorPath, cls: classifierPath })];
      await expect(evaluate(argv, engine)).rejects.toThrow(message);
    });
  }
});

describe('metric sensitivity (real images, slightly changed, scored as generated)', () => {
  const r = rng(5);
  const images = Float32Array.from({ length: 2 * 5 * 7 }, () => 2 * r() - 1); // two 5×7 images in [−1, 1]
  const unit = (v: number) => (v + 1) / 2;

  it('unsharp masking against its float64 definition, edges included', () => {
    for (const amount of [-1, -0.25, 0.5]) {
      const out = unsharp(images, 5, 7, amount);
      for (let i = 0; i < 2; i++) for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) {
        const around: number[] = [];
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          if (y + dy >= 0 && y + dy < 5 && x + dx >= 0 && x + dx < 7) around.push(unit(images[i * 35 + (y + dy) * 7 + x + dx]));
        }
        const u = unit(images[i * 35 + y * 7 + x]);
        const want = Math.min(1, Math.max(0, u + amount * (u - around.reduce((a, b) => a + b) / around.length)));
        expect(unit(out[i * 35 + y * 7 + x])).toBeCloseTo(want, 6);
      }
    }
    // a flat image has nothing to blur or sharpen
    expect([...unsharp(new Float32Array(35).fill(0.2), 5, 7, 0.5)].every((v) => Math.abs(v - 0.2) < 1e-6)).toBe(true);
  });

  it('contrast scaling clamps to the pixel range, and the RMS change is in [0, 1] units', () => {
    const brighter = scaleContrast(Float32Array.of(-1, 0, 0.5, 1), 1.5);
    expect([...brighter].map(unit)).toEqual([0, 0.75, 1, 1]);
    expect(rmsChange(images, images)).toBe(0);
    expect(rmsChange(Float32Array.of(-1, -1), Float32Array.of(1, -1))).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('scores unchanged real images at the floor (ratio 1) and changed ones away from it', async () => {
    const dir = tmp();
    const json = join(dir, 'sensitivity.json');
    const figure = join(dir, 'sensitivity.png');
    const { rows, table } = await metricSensitivity(['--classifier', classifierPath, '--data', dataDir, '--n', '10', '--json', json, '--figure', figure], engine);
    const png = PNG.sync.read(readFileSync(figure));
    expect([png.width, png.height]).toEqual([8 * 30 + 2, DEGRADATIONS.length * 30 + 2]);
    expect(rows.map((row) => row.change)).toEqual(DEGRADATIONS.map((d) => d.change));
    expect(rows[0].fid_ratio).toBe(1);
    expect(rows[0].rms_change).toBe(0);
    for (const row of rows.slice(1)) {
      expect(row.rms_change).toBeGreaterThan(0);
      expect(row.fid).not.toBe(rows[0].fid);
    }
    expect(JSON.parse(readFileSync(json, 'utf8')).rows).toEqual(rows);
    expect(table).toMatch(/blurred, unsharp −0.25/);
    await expect(metricSensitivity(['--classifier', classifierPath, '--data', dataDir, '--n', '11'], engine)).rejects.toThrow(/--n 11: more than the 10 test images/);
  });
});

describe('npm run critic', () => {
  it('trains a critic, runs the two-sample test, and measures rejection sampling; its no-rejection row is evaluate\'s measurement', async () => {
    const json = join(tmp(), 'critic.json');
    const common = ['--checkpoint', generatorPath, '--classifier', classifierPath, '--data', dataDir, '--n', '10'];
    const { report, table } = await critic([...common, '--steps', '3', '--batch-size', '8', '--quantiles', '0.5,1', '--json', json], engine, () => undefined, quiet.progress);
    const { report: evaluated } = await evaluate(common, engine);
    expect(report.rows.map((r) => r.quantile)).toEqual([null, 0.5, 1]);
    const [none, ...rejected] = report.rows;
    expect(none).toMatchObject({ candidates: 10, acceptance: 1, ceiling: null });
    expect(none.fid).toBeCloseTo(evaluated.fid, 6);
    expect(report.floor).toBeCloseTo(evaluated.fid_floor, 6);
    expect([none.precision, none.recall, none.class_kl]).toEqual([evaluated.precision, evaluated.recall, evaluated.class_kl]);
    for (const row of rejected) {
      expect(row.candidates).toBeGreaterThanOrEqual(10);
      expect(row.acceptance).toBeCloseTo(10 / row.candidates, 12);
    }
    expect(report.two_sample_accuracy).toBeGreaterThanOrEqual(0);
    expect(report.two_sample_accuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(report.final_loss)).toBe(true);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    expect(table).toMatch(/two-sample test on 10 held-out real and 10 generated images: accuracy/);
  });

  const bad: [string, string[], RegExp][] = [
    ['no checkpoint', [], /--checkpoint FILE is required/],
    ['a quantile of 0', ['--checkpoint', 'x', '--quantiles', '0,0.5'], /--quantiles: "0" is not a number in \(0, 1\]/],
    ['a quantile above 1', ['--checkpoint', 'x', '--quantiles', '1.5'], /--quantiles: "1.5" is not a number/],
    ['an empty quantile', ['--checkpoint', 'x', '--quantiles', '0.5,'], /--quantiles: "" is not a number/],
    ['zero steps', ['--checkpoint', 'x', '--steps', '0'], /--steps 0: must be at least 1/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parseCriticOptions(args)).toThrow(message);
    });
  }

  it('refuses more images than the test set, and a missing checkpoint, before training', async () => {
    const common = ['--classifier', classifierPath, '--data', dataDir];
    await expect(critic(['--checkpoint', generatorPath, ...common, '--n', '11'], engine)).rejects.toThrow(/--n 11: more than the 10 test images/);
    await expect(critic(['--checkpoint', '/nonexistent/g.safetensors', ...common], engine)).rejects.toThrow(/\/nonexistent\/g.safetensors/);
  });
});

describe("a generator file's own sampling temperature (export-generator --temperature)", () => {
  /** generatorPath's tensors, with the metadata "temperature" set to `value`. */
  function withTemperature(value: string): string {
    const path = join(tmp(), 'g.safetensors');
    writeSafetensors(path, readSafetensors(generatorPath).tensors, { temperature: value });
    return path;
  }
  const common = () => ['--classifier', classifierPath, '--data', dataDir, '--n', '10'];

  it('export-generator stores it; a missing key reads as 1', () => {
    const out = join(tmp(), 'warm.safetensors');
    expect(exportGenerator(['--checkpoint', generatorPath, '--out', out, '--temperature', '1.25'])).toMatchObject({ temperature: 1.25 });
    expect(readSafetensors(out).metadata.temperature).toBe('1.25');
    expect(readSamplingTemperature(readSafetensors(out).metadata, out)).toBe(1.25);
    expect(readSamplingTemperature({}, 'x')).toBe(1);
    for (const bad of ['0', '-2', 'abc', '11', '']) {
      expect(() => exportGenerator(['--checkpoint', generatorPath, '--out', join(tmp(), 'g.safetensors'), '--temperature', bad]), bad).toThrow(/--temperature/);
    }
  });

  it('evaluate samples at it unless --temperature, and says so; the critic agrees with evaluate', async () => {
    const warm = withTemperature('1.25');
    const [own, plainAt, plain, overridden] = await Promise.all([
      evaluate(['--checkpoint', warm, ...common()], engine),
      evaluate(['--checkpoint', generatorPath, ...common(), '--temperature', '1.25'], engine),
      evaluate(['--checkpoint', generatorPath, ...common()], engine),
      evaluate(['--checkpoint', warm, ...common(), '--temperature', '1'], engine),
    ].map((p) => p.then((r) => r)));
    expect(own.report).toMatchObject({ temperature: 1.25, temperature_from: 'file' });
    expect(own.table).toMatch(/z at temperature 1.25, the file's own/);
    expect(own.report.fid).toBe(plainAt.report.fid);
    expect([own.report.precision, own.report.recall]).toEqual([plainAt.report.precision, plainAt.report.recall]);
    expect(own.report.fid).not.toBe(plain.report.fid);
    expect(overridden.report).toMatchObject({ temperature: 1, temperature_from: '--temperature', fid: plain.report.fid });
    const { report } = await critic(['--checkpoint', warm, ...common(), '--steps', '2', '--batch-size', '8', '--quantiles', '1'], engine, () => undefined, quiet.progress);
    expect(report.temperature).toBe(1.25);
    expect(report.rows[0].fid).toBeCloseTo(own.report.fid, 6);
    expect([report.rows[0].precision, report.rows[0].recall]).toEqual([own.report.precision, own.report.recall]);
  });

  it('generate, loadGenerator (file and bytes) and sample() start from it', async () => {
    const warm = withTemperature('1.25');
    const dir = tmp();
    const own = await generateImages(['--checkpoint', warm, '--n', '4', '--out', join(dir, 'own.png')], engine);
    expect(own).toMatchObject({ temperature: 1.25, fileTemperature: true });
    await generateImages(['--checkpoint', generatorPath, '--n', '4', '--temperature', '1.25', '--out', join(dir, 'at.png')], engine);
    await generateImages(['--checkpoint', generatorPath, '--n', '4', '--out', join(dir, 'plain.png')], engine);
    const bytes = (f: string) => readFileSync(join(dir, f));
    expect(bytes('own.png').equals(bytes('at.png'))).toBe(true);
    expect(bytes('own.png').equals(bytes('plain.png'))).toBe(false);
    for (const loaded of [loadGenerator(engine, warm), await loadGeneratorBytes(engine, readFileSync(warm), { name: 'warm' })]) {
      expect(loaded.temperature).toBe(1.25);
      const [a, b, c] = [await sample(engine, loaded, { n: 3, seed: 2 }), await sample(engine, loaded, { n: 3, seed: 2, temperature: 1.25 }), await sample(engine, loaded, { n: 3, seed: 2, temperature: 1 })];
      expect(a.data).toEqual(b.data);
      expect(a.data).not.toEqual(c.data);
      loaded.G.dispose();
    }
    const plain = loadGenerator(engine, generatorPath);
    expect(plain.temperature).toBe(1);
    plain.G.dispose();
  });

  // Not a number, out of range, empty, overflowing: each refused, naming the file and the key, by every reader.
  const hostile = ['abc', '', '  ', '0', '-1', 'NaN', 'Infinity', '11', '1e400', '1.1.1', '0x10'];
  it('refuses a file whose temperature is not a number in (0, 10], in every command, before sampling', async () => {
    const message = /g\.safetensors: metadata "temperature" is .*, not a number in \(0, 10\]; the file is damaged/;
    for (const bad of hostile) {
      const file = withTemperature(bad);
      expect(() => readSamplingTemperature(readSafetensors(file).metadata, file), bad).toThrow(CheckpointError);
      expect(() => readSamplingTemperature(readSafetensors(file).metadata, file), bad).toThrow(message);
    }
    const [a, b, c, d, e] = ['abc', '0', '11', '-1', ''].map(withTemperature);
    await expect(evaluate(['--checkpoint', a, ...common()], engine)).rejects.toThrow(message);
    await expect(evaluate(['--checkpoint', b, ...common(), '--temperature', '1'], engine)).rejects.toThrow(message);
    await expect(generateImages(['--checkpoint', c, '--out', join(tmp(), 'g.png')], engine)).rejects.toThrow(message);
    await expect(critic(['--checkpoint', d, ...common(), '--steps', '1'], engine, () => undefined, quiet.progress)).rejects.toThrow(message);
    expect(() => loadGenerator(engine, e)).toThrow(message);
    await expect(loadGeneratorBytes(engine, readFileSync(a), { name: 'g.safetensors' })).rejects.toThrow(message);
  });
});
