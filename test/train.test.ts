// End-to-end: a few DCGAN steps on a tiny generated IDX set write every artifact; an interrupted and resumed
// run ends bitwise equal to an uninterrupted one; bad input gets its message and nothing written is lost.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync, mkdirSync, appendFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import type { Engine } from '../src/runtime/engine.js';
import { writeTinyFashionMnist } from './tiny-fashion-mnist.js';
import { getEngine } from './helpers.js';
import { train } from '../src/cli/train.js';
import { generateImages } from '../src/cli/generate.js';
import { DEFAULT_GENERATOR, shippedModelPath } from '../src/node/package-files.js';
import { loadGenerator } from '../src/node/load-generator.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { Progress } from '../src/node/progress.js';
import { GanTrainer, DEFAULT_GAN_CONFIG, generate } from '../src/gan/trainer.js';
import { randn } from '../src/tensor/ops/create.js';
import { saveCheckpoint } from '../src/node/checkpoint-files.js';
import { Batcher } from '../src/data/batches.js';
import { parseTrainOptions } from '../src/node/train-options.js';
import { exportGenerator } from '../src/cli/export-generator.js';
import { lockRunFolder } from '../src/io/run-lock.js';
import { stepTooLarge, bufferLimit } from '../src/gan/step-memory.js';
import { FeatureClassifier, classifierState, CLASSIFIER_FORMAT } from '../src/gan/classifier.js';

let engine: Engine;
let dataDir: string;
const quiet = { log: () => undefined, progress: new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9) };

beforeAll(async () => {
  engine = await getEngine();
  dataDir = mkdtempSync(join(tmpdir(), 'atelier-data-'));
  writeTinyFashionMnist(dataDir, { train: 40, test: 10, seed: 7 });
});

const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-run-'));
const base = (out: string) => ['--data', dataDir, '--out', out, '--batch-size', '8', '--seed', '3'];

describe('npm run train', () => {
  it('writes samples, metrics, loss curve and checkpoints', async () => {
    const out = tmp();
    const result = await train([...base(out), '--epochs', '2', '--log-every', '2', '--sample-every', '4'], { engine, ...quiet });
    expect(result).toMatchObject({ steps: 10, epochsDone: 2, stopped: false });
    for (const f of ['samples/epoch_001.png', 'samples/epoch_002.png', 'samples/step_000004.png', 'loss.png',
      'checkpoints/latest.safetensors', 'checkpoints/epoch_001.safetensors', 'checkpoints/epoch_002.safetensors']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const grid = PNG.sync.read(readFileSync(join(out, 'samples/epoch_002.png')));
    expect(grid.width).toBe(8 * 28 + 9 * 2);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const epochs = lines.filter((l) => l.kind === 'epoch');
    expect(epochs).toHaveLength(2);
    for (const key of ['loss_d', 'loss_g', 'd_real', 'd_fake', 'images_per_s', 'seconds']) {
      expect(Number.isFinite(epochs[1][key]), key).toBe(true);
    }
    expect(lines.filter((l) => l.kind === 'step')).toHaveLength(5);
    const { tensors, metadata } = readSafetensors(join(out, 'checkpoints/latest.safetensors'));
    expect(tensors['generator.0.weight'].shape).toEqual([100, 128, 7, 7]);
    expect(tensors['generator.1.running_mean'].shape).toEqual([128]);
    expect(tensors['discriminator.5.weight'].shape).toEqual([1, 128, 7, 7]);
    expect(tensors['optimizer_g.m.generator.0.weight'] ?? tensors['optimizer_g.m.0.weight']).toBeDefined();
    expect(tensors.fixed_z.shape).toEqual([64, 100, 1, 1]);
    expect(JSON.parse(metadata.config).batchSize).toBe(8);
    expect(metadata.step).toBe('10');
  });

  it.each([[[]], [['--loss', 'hinge', '--ema', '0.9', '--lr-d', '4e-4', '--lr-g', '1e-4']], [['--spectral-norm']], [['--loss', 'rpgan', '--conditional', '--r1', '0.05', '--r2', '0.05']], [['--loss', 'rpgan', '--r1', '0.05', '--r2', '0.05', '--d-reg-every', '3']]])('an interrupted and resumed run ends bitwise equal to an uninterrupted one %j', async (flags: string[]) => {
    const whole = tmp();
    await train([...base(whole), ...flags, '--epochs', '2'], { engine, ...quiet });
    const parts = tmp();
    const first = await train([...base(parts), ...flags, '--epochs', '2', '--max-steps', '3'], { engine, ...quiet });
    expect(first).toMatchObject({ steps: 3, stopped: true });
    // A stop request (what SIGINT/SIGTERM set) ends the next step with a checkpoint too.
    const stop = { requested: true };
    const second = await train(['--resume', parts], { engine, stop, ...quiet });
    expect(second).toMatchObject({ steps: 4, stopped: true });
    const last = await train(['--resume', join(parts, 'checkpoints', 'latest.safetensors')], { engine, ...quiet });
    expect(last).toMatchObject({ steps: 10, stopped: false });
    const a = readSafetensors(join(whole, 'checkpoints/latest.safetensors')).tensors;
    const b = readSafetensors(join(parts, 'checkpoints/latest.safetensors')).tensors;
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Object.keys(a).some((n) => n.startsWith('generator_ema.'))).toBe(flags.includes('--ema'));
    for (const name of Object.keys(a)) {
      expect(Buffer.from(b[name].data.buffer).equals(Buffer.from(a[name].data.buffer)), name).toBe(true);
    }
  });

  it('--d-reg-every is stored only above 1 and fixed on resume', async () => {
    const lazy = tmp();
    await train([...base(lazy), '--r1', '0.05', '--d-reg-every', '2', '--max-steps', '2'], { engine, ...quiet });
    const configOf = (out: string) => JSON.parse(readSafetensors(join(out, 'checkpoints/latest.safetensors')).metadata.config);
    expect(configOf(lazy)).toMatchObject({ r1: 0.05, dRegEvery: 2 });
    await expect(train(['--resume', lazy, '--d-reg-every', '4'], { engine, ...quiet })).rejects.toThrow(/--d-reg-every 4 contradicts the checkpoint's 2/);
    const every = tmp();
    await train([...base(every), '--r1', '0.05', '--d-reg-every', '1', '--max-steps', '1'], { engine, ...quiet });
    expect(configOf(every).dRegEvery).toBeUndefined();
  });

  it('--eval-every adds FID, class KL and Inception Score to the epoch lines', async () => {
    const out = tmp();
    const classifier = join(out, 'classifier.safetensors');
    const model = new FeatureClassifier(engine);
    writeSafetensors(classifier, await classifierState(model), { format: CLASSIFIER_FORMAT });
    model.dispose();
    await train([...base(out), '--epochs', '2', '--eval-every', '2', '--eval-n', '10', '--classifier', classifier], { engine, ...quiet });
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].fid).toBeUndefined();
    expect(lines[1]).toMatchObject({ epoch: 2, eval_n: 10 });
    expect(lines[1].fid).toBeGreaterThan(0);
    expect(lines[1].class_kl).toBeGreaterThanOrEqual(0);
    expect(lines[1].inception_score).toBeGreaterThanOrEqual(1);
    // a missing classifier is refused before anything is trained or written
    const other = tmp();
    await expect(train([...base(other), '--eval-every', '1', '--classifier', join(other, 'none.safetensors')], { engine, ...quiet })).rejects.toThrow(/none.safetensors/);
    expect(existsSync(join(other, 'checkpoints'))).toBe(false);
  });

  it('stops on a NaN loss with a clear message and keeps the last good checkpoint', async () => {
    const out = tmp();
    await train([...base(out), '--epochs', '1'], { engine, ...quiet });
    const latest = join(out, 'checkpoints/latest.safetensors');
    const good = readFileSync(latest);
    // A checkpoint holding NaN is refused on load, naming the tensor and index.
    const { tensors, metadata } = readSafetensors(latest);
    tensors['discriminator.5.weight'].data.fill(Number.NaN as never);
    const nan = join(out, 'checkpoints', 'nan.safetensors');
    writeSafetensors(nan, tensors, metadata);
    await expect(train(['--resume', nan, '--epochs', '2'], { engine, ...quiet })).rejects.toThrow(/nan\.safetensors: tensor "discriminator\.5\.weight" holds NaN at index 0/);
    // Poison D's last layer with huge finite weights in the copy the next run resumes from: its first step's loss is NaN.
    tensors['discriminator.5.weight'].data.fill(3e38 as never);
    const poisoned = join(out, 'checkpoints', 'poisoned.safetensors');
    writeSafetensors(poisoned, tensors, metadata);
    await expect(train(['--resume', poisoned, '--epochs', '2'], { engine, ...quiet })).rejects.toThrow(/loss became (NaN|-?Infinity) at epoch 2, step 6.*last good checkpoint/s);
    expect(readFileSync(latest).equals(good)).toBe(true);
  });

  const bad: [string, string[], RegExp][] = [
    ['a missing data folder', ['--data', '/nonexistent/fashion'], /\/nonexistent\/fashion.*(dataset-fashion-mnist|--data)/s],
    ['an unknown class', ['--class', 'hat'], /unknown class.*hat.*ankle-boot/is],
    ['a batch larger than the data', ['--batch-size', '64'], /batch size 64 is larger than the 40 selected images/],
    ['a bad number', ['--lr-d', 'fast'], /--lr-d fast: not a number/],
    ['a zero epoch count', ['--epochs', '0'], /--epochs 0: must be at least 1/],
    ['an unknown flag', ['--epoch', '3'], /Unknown option '--epoch'/],
    ['a resume path that does not exist', ['--resume', '/nonexistent/run'], /--resume \/nonexistent\/run: no such file or folder/],
    ['an unknown loss', ['--loss', 'wasserstein'], /--loss wasserstein: unknown loss; use one of bce, hinge, rpgan/],
    ['an EMA decay of 1', ['--ema', '1'], /--ema 1/],
    ['a negative R1 weight', ['--r1=-0.5'], /--r1 -0.5: must be at least 0/],
    ['an R2 weight that is not a number', ['--r2', 'strong'], /--r2 strong: not a number/],
    ['R1 with spectral norm', ['--r1', '0.05', '--spectral-norm'], /--r1: D is spectrally normalised, .*; drop --spectral-norm, or drop the penalty/],
    ['R2 with spectral norm', ['--spectral-norm', '--r2', '1'], /--r2: D is spectrally normalised/],
    ['a lazy interval of 0', ['--r1', '0.05', '--d-reg-every', '0'], /--d-reg-every 0: must be at least 1/],
    ['a fractional lazy interval', ['--r2', '0.05', '--d-reg-every', '2.5'], /--d-reg-every 2.5: must be a whole number/],
    ['a lazy interval without a penalty', ['--d-reg-every', '4'], /--d-reg-every 4: there is no penalty to make lazy; add --r1 and\/or --r2, or drop --d-reg-every/],
    ['R1 on a D with dropout', ['--model', 'keras-upsample', '--r1', '0.05'], /--r1: D has dropout, .*; pick a --model without dropout in D \(not keras-upsample\), or drop the penalty/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what}`, async () => {
      const out = tmp();
      const argv = args.includes('--data') ? ['--out', out, '--batch-size', '8', ...args] : [...base(out), ...args];
      await expect(train(argv, { engine, ...quiet })).rejects.toThrow(message);
    });
  }

  it('--decay-epochs lowers the learning rates to zero over the last epochs; a resumed run stays bitwise equal', async () => {
    const weights = (out: string) => readSafetensors(join(out, 'checkpoints/latest.safetensors')).tensors['generator.0.weight'].data;
    const decayed = tmp();
    await train([...base(decayed), '--epochs', '2', '--decay-epochs', '2'], { engine, ...quiet });
    const constant = tmp();
    await train([...base(constant), '--epochs', '2'], { engine, ...quiet });
    expect(Buffer.from(weights(decayed).buffer).equals(Buffer.from(weights(constant).buffer))).toBe(false);
    const resumed = tmp();
    await train([...base(resumed), '--epochs', '2', '--decay-epochs', '2', '--max-steps', '3'], { engine, ...quiet });
    await train(['--resume', resumed], { engine, ...quiet });
    expect(Buffer.from(weights(resumed).buffer).equals(Buffer.from(weights(decayed).buffer))).toBe(true);
    await expect(train([...base(tmp()), '--epochs', '2', '--decay-epochs', '3'], { engine, ...quiet })).rejects.toThrow(/--decay-epochs 3 is more than --epochs 2/);
    await expect(train(['--resume', resumed, '--epochs', '1'], { engine, ...quiet })).rejects.toThrow(/--decay-epochs 2 is more than the 1 epochs/);
  });

  it('a learning-rate scale of 0 leaves the weights where they are', async () => {
    const trainer = new GanTrainer(engine, { ...DEFAULT_GAN_CONFIG, ngf: 4, ndf: 4, seed: 5 });
    const real = randn(engine, [2, 1, 28, 28]);
    try {
      const before = await trainer.G.parameters()[0].toArray();
      trainer.setLearningRateScale(0);
      trainer.step(real).dispose();
      expect(await trainer.G.parameters()[0].toArray()).toEqual(before);
      trainer.setLearningRateScale(1);
      trainer.step(real).dispose();
      expect(await trainer.G.parameters()[0].toArray()).not.toEqual(before);
    } finally {
      real.dispose();
      trainer.dispose();
    }
  });

  it('refuses to resume with settings that contradict the checkpoint', async () => {
    const out = tmp();
    await train([...base(out), '--epochs', '1', '--max-steps', '1'], { engine, ...quiet });
    await expect(train(['--resume', out, '--latent-dim', '64'], { engine, ...quiet })).rejects.toThrow(/--latent-dim 64 contradicts the checkpoint's 100/);
  });

  it('--spectral-norm: D without batchnorm, its power-iteration vectors in the checkpoint; resume keeps the setting', async () => {
    const out = tmp();
    await train([...base(out), '--epochs', '1', '--max-steps', '1', '--spectral-norm'], { engine, ...quiet });
    const names = Object.keys(readSafetensors(join(out, 'checkpoints/latest.safetensors')).tensors).filter((n) => n.startsWith('discriminator.'));
    expect(names.sort()).toEqual(['0.weight', '0.weight_u', '0.weight_v', '2.weight', '2.weight_u', '2.weight_v', '4.weight', '4.weight_u', '4.weight_v'].map((n) => `discriminator.${n}`));
    const plain = tmp();
    await train([...base(plain), '--epochs', '1', '--max-steps', '1'], { engine, ...quiet });
    await expect(train(['--resume', plain, '--spectral-norm'], { engine, ...quiet })).rejects.toThrow(/--spectral-norm true contradicts the checkpoint's false/);
  });

  it('parses defaults as the issue specifies', () => {
    expect(parseTrainOptions([])).toMatchObject({ epochs: 20, batchSize: 128, lrG: 2e-4, lrD: 2e-4, beta1: 0.5, beta2: 0.999, latentDim: 100, realLabel: 0.9, ngf: 64, ndf: 64 });
  });

  it('--ngf/--ndf set the widths: checkpoints, resume and generate follow them', async () => {
    const out = tmp();
    await train([...base(out), '--epochs', '1', '--max-steps', '2', '--ngf', '6', '--ndf', '10'], { engine, ...quiet });
    const latest = join(out, 'checkpoints/latest.safetensors');
    const { tensors } = readSafetensors(latest);
    expect(tensors['generator.0.weight'].shape).toEqual([100, 12, 7, 7]);
    expect(tensors['generator.6.weight'].shape).toEqual([6, 1, 4, 4]);
    expect(tensors['discriminator.0.weight'].shape).toEqual([10, 1, 4, 4]);
    expect(tensors['discriminator.5.weight'].shape).toEqual([1, 20, 7, 7]);
    await expect(train(['--resume', out, '--ndf', '64'], { engine, ...quiet })).rejects.toThrow(/--ndf 64 contradicts the checkpoint's 10/);
    expect(await train(['--resume', out, '--max-steps', '3'], { engine, ...quiet })).toMatchObject({ steps: 3 });
    const { files } = await generateImages(['--checkpoint', latest, '--n', '4', '--out', join(out, 'g.png')], engine);
    expect(files).toEqual([join(out, 'g.png')]);
    // A checkpoint from before these flags (no widths in its config) resumes at the reference widths.
    const old = tmp();
    await train([...base(old), '--epochs', '1', '--max-steps', '1'], { engine, ...quiet });
    const oldPath = join(old, 'checkpoints/latest.safetensors');
    const saved = readSafetensors(oldPath);
    const { ngf: _g, ndf: _d, ...config } = JSON.parse(saved.metadata.config);
    writeSafetensors(oldPath, saved.tensors, { ...saved.metadata, config: JSON.stringify(config) });
    expect(await train(['--resume', old, '--max-steps', '2'], { engine, ...quiet })).toMatchObject({ steps: 2 });
    await expect(train([...base(tmp()), '--ngf', '0'], { engine, ...quiet })).rejects.toThrow(/--ngf 0: must be at least 1/);
  });
});

describe('npm run generate', () => {
  let checkpoint: string;
  beforeAll(async () => {
    const out = tmp();
    await train([...base(out), '--epochs', '1'], { engine, ...quiet });
    checkpoint = join(out, 'checkpoints/latest.safetensors');
  });

  it('export-generator writes the generator alone, the moving average when there is one', async () => {
    const out = tmp();
    await train([...base(out), '--epochs', '1', '--ema', '0.9'], { engine, ...quiet });
    const source = join(out, 'checkpoints/latest.safetensors');
    const file = join(out, 'generator.safetensors');
    expect(exportGenerator(['--checkpoint', source, '--out', file, '--note', 'test'])).toMatchObject({ weights: 'average' });
    const { tensors, metadata } = readSafetensors(file);
    expect(metadata).toMatchObject({ format: 'atelier-dcgan-generator/1', weights: 'moving average', trained_with: 'test' });
    expect(Object.keys(tensors).every((n) => n.startsWith('generator.'))).toBe(true);
    const all = readSafetensors(source).tensors;
    expect(Buffer.from(tensors['generator.0.weight'].data.buffer).equals(Buffer.from(all['generator_ema.0.weight'].data.buffer))).toBe(true);
    expect(exportGenerator(['--checkpoint', source, '--out', file, '--trained'])).toMatchObject({ weights: 'trained' });
    expect(Buffer.from(readSafetensors(file).tensors['generator.0.weight'].data.buffer).equals(Buffer.from(all['generator.0.weight'].data.buffer))).toBe(true);
    const { G } = loadGenerator(engine, file);
    G.dispose();
    expect(() => exportGenerator(['--checkpoint', source])).toThrow(/--out FILE are required/);
  });

  it('writes a grid, each image and an interpolation grid', async () => {
    const dir = tmp();
    const { files } = await generateImages(['--checkpoint', checkpoint, '--n', '10', '--out', join(dir, 'grid.png'), '--each', join(dir, 'each'), '--interpolate', '5'], engine);
    expect(files).toContain(join(dir, 'grid.png'));
    expect(readdirSync(join(dir, 'each'))).toHaveLength(10);
    const interp = PNG.sync.read(readFileSync(join(dir, 'grid_interpolation.png')));
    expect(interp.width).toBe(5 * 28 + 6 * 2);
    expect(interp.height).toBe(8 * 28 + 9 * 2);
    const one = PNG.sync.read(readFileSync(join(dir, 'each', '0003.png')));
    expect([one.width, one.height]).toEqual([28, 28]);
  });

  it('gives the same image for the same z after save and load (eval mode)', async () => {
    const trainer = new GanTrainer(engine, { ...DEFAULT_GAN_CONFIG, seed: 11 });
    const real = randn(engine, [4, 1, 28, 28], 0, 0.5);
    (trainer.step(real)).dispose();
    const z = randn(engine, [3, 100, 1, 1], 0, 1, { seed: 5 });
    const before = generate(engine, trainer.G, z);
    const out = tmp();
    mkdirSync(join(out, 'checkpoints'), { recursive: true });
    const batcher = new Batcher({ images: new Float32Array(784 * 4), labels: new Uint8Array(4), count: 4, itemSize: 784 }, 4);
    const path = await saveCheckpoint(out, { engine, trainer, batcher, options: { ...parseTrainOptions([]), seed: 11 }, fixedZ: z, totals: { lossD: 0, lossG: 0, dReal: 0, dFake: 0, steps: 0, seconds: 0 }, step: 1, epochsDone: 0, perEpoch: false });
    const { G } = loadGenerator(engine, path);
    const after = generate(engine, G, z);
    expect(Array.from(await after.toArray())).toEqual(Array.from(await before.toArray()));
    for (const t of [real, z, before, after]) t.dispose();
    G.dispose();
    trainer.dispose();
  });

  const corrupt: [string, (bytes: Buffer) => Buffer, RegExp][] = [
    ['a truncated file', (b) => b.subarray(0, 100), /./],
    ['a header length past the end', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(BigInt(b.length * 2), 0); return c; }, /./],
    ['an absurd header size', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(2n ** 62n, 0); return c; }, /./],
  ];
  for (const [what, damage, message] of corrupt) {
    it(`refuses ${what}`, async () => {
      const dir = tmp();
      const path = join(dir, 'bad.safetensors');
      writeFileSync(path, damage(readFileSync(checkpoint)));
      await expect(generateImages(['--checkpoint', path, '--out', join(dir, 'g.png')], engine)).rejects.toThrow(message);
      expect(existsSync(join(dir, 'g.png'))).toBe(false);
    });
  }

  it('names the tensor whose shape does not fit the model', async () => {
    const dir = tmp();
    const { tensors, metadata } = readSafetensors(checkpoint);
    tensors['generator.3.weight'] = { dtype: 'F32', shape: [128, 32, 4, 4], data: new Float32Array(128 * 32 * 16) };
    const path = join(dir, 'wrong.safetensors');
    writeSafetensors(path, tensors, metadata);
    await expect(generateImages(['--checkpoint', path, '--out', join(dir, 'g.png')], engine)).rejects.toThrow(/"generator.3.weight" has shape \[128, 32, 4, 4\], the model expects \[128, 64, 4, 4\]/);
  });

  it('without --checkpoint uses the best shipped generator, from any working directory', async () => {
    const dir = tmp();
    const cwd = process.cwd();
    process.chdir(dir);
    let result;
    try {
      result = await generateImages(['--n', '4', '--seed', '3', '--out', 'default.png'], engine);
    } finally {
      process.chdir(cwd);
    }
    expect(result.usedDefault).toBe(true);
    expect(result.checkpoint).toBe(resolve('models', DEFAULT_GENERATOR));
    await generateImages(['--checkpoint', join('models', DEFAULT_GENERATOR), '--n', '4', '--seed', '3', '--out', join(dir, 'given.png')], engine);
    expect(readFileSync(join(dir, 'default.png')).equals(readFileSync(join(dir, 'given.png')))).toBe(true);
    expect(() => shippedModelPath('no-such-generator.safetensors')).toThrow(/models\/no-such-generator.safetensors is missing from this installation; give one with --checkpoint FILE/);
  });

  it('samples z at a lower temperature: a different grid from the same seed; refuses a temperature of 0', async () => {
    const dir = tmp();
    await generateImages(['--checkpoint', checkpoint, '--n', '4', '--out', join(dir, 'a.png')], engine);
    await generateImages(['--checkpoint', checkpoint, '--n', '4', '--out', join(dir, 'b.png'), '--temperature', '0.5'], engine);
    await generateImages(['--checkpoint', checkpoint, '--n', '4', '--out', join(dir, 'c.png'), '--temperature', '1'], engine);
    const [a, b, c] = ['a', 'b', 'c'].map((f) => PNG.sync.read(readFileSync(join(dir, `${f}.png`))).data);
    expect(a.equals(c)).toBe(true);
    expect(a.equals(b)).toBe(false);
    await expect(generateImages(['--checkpoint', checkpoint, '--out', join(dir, 'd.png'), '--temperature', '0'], engine)).rejects.toThrow(/--temperature 0: must be greater than 0/);
    expect(existsSync(join(dir, 'd.png'))).toBe(false);
  });
});

describe('train: epoch outputs, run folders and file-system faults', () => {
  const tensorsOf = (out: string, file = 'latest') => readSafetensors(join(out, 'checkpoints', `${file}.safetensors`)).tensors;
  const expectSameTensors = (a: ReturnType<typeof tensorsOf>, b: ReturnType<typeof tensorsOf>) => {
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const name of Object.keys(a)) expect(Buffer.from(b[name].data.buffer).equals(Buffer.from(a[name].data.buffer)), name).toBe(true);
  };
  const epochLines = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'epoch');
  const small = ['--ngf', '6', '--ndf', '10'];
  /** A stop request that reads true the n-th time the loop asks (it asks once after every step). */
  const stopAfterStep = (n: number) => {
    let asked = 0;
    return { get requested() { return ++asked >= n; } };
  };

  let whole: string;
  beforeAll(async () => {
    whole = tmp();
    await train([...base(whole), ...small, '--epochs', '3'], { engine, ...quiet });
  });

  // 5 steps per epoch: steps 5 and 10 are epoch ends.
  it.each([
    ['--max-steps on the last step of epoch 1', ['--max-steps', '5'], undefined, 5],
    ['a stop request (SIGINT) on the last step of epoch 2', [], 10, 10],
    ['--max-steps mid-epoch', ['--max-steps', '7'], undefined, 7],
  ] as const)('%s: the epoch outputs are written, resume repeats no line and ends bitwise equal', async (_what, flags, stopAt, steps) => {
    const parts = tmp();
    const first = await train([...base(parts), ...small, '--epochs', '3', ...flags], { engine, ...quiet, stop: stopAt ? stopAfterStep(stopAt) : undefined });
    expect(first).toMatchObject({ steps, stopped: true, epochsDone: Math.floor(steps / 5) });
    for (let e = 1; e <= Math.floor(steps / 5); e++) {
      for (const f of [`checkpoints/epoch_00${e}.safetensors`, `samples/epoch_00${e}.png`]) expect(existsSync(join(parts, f)), f).toBe(true);
    }
    expect(existsSync(join(parts, `checkpoints/epoch_00${Math.floor(steps / 5) + 1}.safetensors`))).toBe(false);
    expect(epochLines(parts).map((l) => l.epoch)).toEqual(Array.from({ length: Math.floor(steps / 5) }, (_, i) => i + 1));
    await train(['--resume', parts], { engine, ...quiet });
    const a = epochLines(whole);
    const b = epochLines(parts);
    expect(b.map((l) => [l.epoch, l.step])).toEqual([[1, 5], [2, 10], [3, 15]]);
    for (let i = 0; i < 3; i++) for (const k of ['loss_d', 'loss_g', 'd_real', 'd_fake']) expect(b[i][k], `epoch ${i + 1} ${k}`).toBe(a[i][k]);
    expectSameTensors(tensorsOf(whole), tensorsOf(parts));
    for (const e of [1, 2, 3]) expectSameTensors(tensorsOf(whole, `epoch_00${e}`), tensorsOf(parts, `epoch_00${e}`));
  });

  it('resume drops records past the checkpoint (a crash between append and checkpoint) and stale temp files', async () => {
    const out = tmp();
    await train([...base(out), ...small, '--epochs', '2', '--max-steps', '5', '--log-every', '1'], { engine, ...quiet });
    // What a kill during epoch 2's end could leave: its line appended, a torn line, a half-written temp checkpoint.
    appendFileSync(join(out, 'metrics.jsonl'), JSON.stringify({ kind: 'step', epoch: 2, step: 6, loss_d: 1, loss_g: 1 }) + '\n' +
      JSON.stringify({ kind: 'epoch', epoch: 2, step: 10, loss_d: 9, loss_g: 9 }) + '\n{"kind":"epo');
    const temp = join(out, 'checkpoints', `.epoch_002.safetensors.${process.pid}.deadbeef.tmp`);
    writeFileSync(temp, 'half');
    await train(['--resume', out], { engine, ...quiet });
    expect(existsSync(temp)).toBe(false);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'epoch').map((l) => l.epoch)).toEqual([1, 2]);
    expect(lines.filter((l) => l.kind === 'step').map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(lines.find((l) => l.kind === 'epoch' && l.epoch === 2).loss_d).not.toBe(9);
  });

  it("saveCheckpoint writes the epoch's file before latest, so latest never names an epoch whose file is missing", async () => {
    const out = tmp();
    await train([...base(out), ...small, '--epochs', '1', '--max-steps', '2'], { engine, ...quiet });
    const trainer = new GanTrainer(engine, { ...DEFAULT_GAN_CONFIG, ngf: 6, ndf: 10, seed: 3 });
    const z = randn(engine, [64, 100, 1, 1]);
    const batcher = new Batcher({ images: new Float32Array(784 * 8), labels: new Uint8Array(8), count: 8, itemSize: 784 }, 8);
    // latest cannot be replaced (a folder stands in its place): the write fails after the epoch file is complete.
    rmSync(join(out, 'checkpoints', 'latest.safetensors'));
    mkdirSync(join(out, 'checkpoints', 'latest.safetensors', 'x'), { recursive: true });
    const save = saveCheckpoint(out, { engine, trainer, batcher, options: { ...parseTrainOptions([]), ngf: 6, ndf: 10 }, fixedZ: z, totals: { lossD: 0, lossG: 0, dReal: 0, dFake: 0, steps: 0, seconds: 0 }, step: 5, epochsDone: 1, perEpoch: true });
    await expect(save).rejects.toThrow();
    expect(readSafetensors(join(out, 'checkpoints', 'epoch_001.safetensors')).metadata.step).toBe('5');
    expect(readdirSync(join(out, 'checkpoints')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    z.dispose();
    trainer.dispose();
  });

  it('a second training on the same --out fails cleanly naming the folder and the PID; the first goes on', async () => {
    const out = tmp();
    const first = train([...base(out), ...small, '--epochs', '1'], { engine, ...quiet });
    await expect(train([...base(out), ...small, '--epochs', '1'], { engine, ...quiet })).rejects.toThrow(new RegExp(`--out ${out} is in use by another training, process ${process.pid}`));
    expect(await first).toMatchObject({ steps: 5, stopped: false });
    expect(epochLines(out)).toHaveLength(1);
    // a resume is refused too while another process holds the folder; a stale lock (dead PID) is taken over
    const lock = lockRunFolder(out);
    await expect(train(['--resume', out, '--epochs', '2'], { engine, ...quiet })).rejects.toThrow(/is in use by another training/);
    lock.release();
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    writeFileSync(join(out, 'train.lock'), JSON.stringify({ pid: dead, host: (await import('node:os')).hostname(), since: 'then' }));
    expect(await train(['--resume', out, '--epochs', '2'], { engine, ...quiet })).toMatchObject({ steps: 10 });
    expect(existsSync(join(out, 'train.lock'))).toBe(false);
  });

  it('never overwrites an existing run without --resume or --overwrite', async () => {
    const out = tmp();
    await train([...base(out), ...small, '--epochs', '1'], { engine, ...quiet });
    const before = readFileSync(join(out, 'checkpoints/latest.safetensors'));
    for (const flags of [[], ['--epochs', '2'], ['--seed', '4']]) {
      await expect(train([...base(out), ...small, ...flags], { engine, ...quiet })).rejects.toThrow(/already holds a run.*--resume.*--overwrite/);
    }
    // resuming another run into this folder is a new run over it too
    await expect(train(['--resume', whole, '--out', out, '--epochs', '4'], { engine, ...quiet })).rejects.toThrow(/already holds a run/);
    expect(readFileSync(join(out, 'checkpoints/latest.safetensors')).equals(before)).toBe(true);
    await train([...base(out), ...small, '--epochs', '1', '--seed', '4', '--overwrite'], { engine, ...quiet });
    expect(readFileSync(join(out, 'checkpoints/latest.safetensors')).equals(before)).toBe(false);
    expect(epochLines(out)).toHaveLength(1);
  });

  const fsFaults: [string, (dir: string) => string, RegExp][] = [
    ['--out is a file', (d) => { writeFileSync(join(d, 'f'), 'x'); return join(d, 'f'); }, /cannot create the folder --out .*\/f: .*\/f is a file, not a folder/],
    ['--out inside a file', (d) => { writeFileSync(join(d, 'f'), 'x'); return join(d, 'f', 'run'); }, /\/f is a file, not a folder/],
    ['--out whose checkpoints folder is a file', (d) => { writeFileSync(join(d, 'checkpoints'), 'x'); return d; }, /checkpoints is a file, not a folder/],
    ['--out whose metrics.jsonl is a folder', (d) => { mkdirSync(join(d, 'metrics.jsonl')); return d; }, /cannot write --out .*metrics.jsonl: is a directory/],
    ['--out whose loss.png is a folder', (d) => { mkdirSync(join(d, 'loss.png')); return d; }, /loss.png: is a directory/],
  ];
  for (const [what, make, message] of fsFaults) {
    it(`refuses ${what} before any GPU work, with the cause`, async () => {
      const out = make(tmp());
      const error = await train([...base(out), ...small, '--epochs', '1'], { engine, ...quiet }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('FileError');
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toMatch(/\n/);
    });
  }

  const canMount = (() => {
    const dir = tmp();
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
    if (ok) spawnSync('umount', [dir]);
    return ok;
  })();
  it.skipIf(!canMount)('a read-only --out is reported as a read-only file system (skipped where mount is not permitted)', async () => {
    const dir = tmp();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', dir]);
    try {
      for (const out of [dir, join(dir, 'run')]) {
        await expect(train([...base(out), ...small, '--epochs', '1'], { engine, ...quiet })).rejects.toThrow(/read-only file system/);
      }
    } finally {
      spawnSync('umount', [dir]);
    }
  });

  it.skipIf(!canMount)('a full disk mid-run: a clean error naming the intact last checkpoint; resume after freeing space ends bitwise equal', async () => {
    const dir = tmp();
    const checkpointBytes = readFileSync(join(whole, 'checkpoints/latest.safetensors')).length;
    // room for latest and epoch_001 (and the grids), not for epoch_002 as well
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.floor(checkpointBytes * 2.5)}`, 'tmpfs', dir]);
    try {
      const error = await train([...base(dir), ...small, '--epochs', '3'], { engine, ...quiet }).catch((e: Error) => e);
      expect((error as Error).name).toBe('FileError');
      expect((error as Error).message).toMatch(/no space left on device.*the last good checkpoint, .*latest.safetensors \(step 5\), is intact; .*--resume/);
      expect(readSafetensors(join(dir, 'checkpoints/latest.safetensors')).metadata.step).toBe('5');
      expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['epoch_001.safetensors', 'latest.safetensors']);
      rmSync(join(dir, 'checkpoints', 'epoch_001.safetensors'));
      rmSync(join(dir, 'samples'), { recursive: true });
      const out = tmp();
      execFileSync('cp', ['-r', `${dir}/.`, out]);
      await train(['--resume', out], { engine, ...quiet });
      expectSameTensors(tensorsOf(whole), tensorsOf(out));
      expect(epochLines(out).map((l) => l.epoch)).toEqual([1, 2, 3]);
    } finally {
      spawnSync('umount', [dir]);
    }
  });
});

describe('train: impossible batch sizes and widths', () => {
  let bigData: string;
  beforeAll(() => {
    bigData = mkdtempSync(join(tmpdir(), 'atelier-data-'));
    writeTinyFashionMnist(bigData, { train: 720, test: 10, seed: 7 });
  });
  it.each([
    [['--batch-size', '700'], /use --batch-size 668 or less/],
    [['--batch-size', '669'], /use --batch-size 668 or less/],
    [['--batch-size', '200', '--ndf', '256'], /use --batch-size 167 or less/],
    [['--batch-size', '8', '--ngf', '1024'], /smaller --ngf, --ndf or --latent-dim/],
    [['--batch-size', '8', '--ngf', '1024', '--latent-dim', '4096'], /G layer 0's weight/],
  ])('%j is refused before anything is created, with the size, the limit and a batch that fits', async (flags, fix) => {
    const out = join(tmp(), 'run');
    const options = parseTrainOptions(flags);
    const expected = stepTooLarge(options, bufferLimit(engine.device.limits));
    if (!expected) return; // a device with larger limits runs it
    await expect(train(['--data', bigData, '--out', out, ...flags], { engine, ...quiet })).rejects.toThrow(/needs a [\d.]+ [MG]i?B buffer .*more than the .* this device allows per buffer \(maxStorageBufferBindingSize/);
    await expect(train(['--data', bigData, '--out', out, ...flags], { engine, ...quiet })).rejects.toThrow(fix);
    expect(existsSync(out)).toBe(false);
  });

  it("a preset's default batch that does not fit is lowered to the largest that does, with a line saying so; a given one is refused", async () => {
    const perImage = 9_633_792; // keras-upsample's largest per-image buffer (G's 5×5 conv over 128×28×28, unfolded)
    const fits = Math.floor(bufferLimit(engine.device.limits) / perImage);
    if (fits >= 128) return; // a device with larger limits runs the preset's own batch
    const out = join(tmp(), 'run');
    const lines: string[] = [];
    await train(['--data', bigData, '--out', out, '--model', 'keras-upsample', '--max-steps', '1', '--limit', String(fits)], { engine, ...quiet, log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(new RegExp(`^batch ${fits}: the default 128 of --model keras-upsample needs more than the .* this device allows per buffer; --batch-size N chooses another$`));
    expect(JSON.parse(readSafetensors(join(out, 'checkpoints/latest.safetensors')).metadata.config).batchSize).toBe(fits);
    const given = join(tmp(), 'given');
    await expect(train(['--data', bigData, '--out', given, '--model', 'keras-upsample', '--batch-size', '128'], { engine, ...quiet })).rejects.toThrow(/^--model keras-upsample --batch-size 128 needs a [\d.]+ [MG]i?B buffer \(G's largest\)/);
    expect(existsSync(given)).toBe(false);
  }, 120_000);
});
