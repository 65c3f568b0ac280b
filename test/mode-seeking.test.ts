// Mode seeking (MSGAN, Mao et al. 2019): |x| against float64 and finite differences, the term itself against a
// float64 reference on awkward batches (odd, 2, 7) and by finite differences (alone and through a shared conv,
// two forwards then one backward), the pairing of classes, and --mode-seeking in training: stored, fixed on
// resume, bitwise across an interruption, and changing what is trained.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { writeTinyFashionMnist } from './tiny-fashion-mnist.js';
import { abs } from '../src/tensor/ops/elementwise.js';
import { conv2d } from '../src/tensor/ops/conv.js';
import { concat } from '../src/tensor/ops/misc.js';
import { tidy, keep } from '../src/tensor/autograd.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { randn } from '../src/tensor/ops/create.js';
import { GanTrainer, DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { modeSeekingLoss, modeSeekingPairs, pairedRows, MODE_SEEKING_EPS } from '../src/gan/mode-seeking.js';
import { oneHot } from '../src/nn/embedding.js';
import { train } from '../src/cli/train.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { Progress } from '../src/node/progress.js';
import { parseTrainOptions, refuseUngroupedBatch } from '../src/node/train-options.js';

let engine: Engine;
let dataDir: string;
const quiet = { log: () => undefined, progress: new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9) };

beforeAll(async () => {
  engine = await getEngine();
  dataDir = mkdtempSync(join(tmpdir(), 'atelier-ms-data-'));
  writeTinyFashionMnist(dataDir, { train: 40, test: 10, seed: 21, image: (p, c, noise) => (Math.floor(p / 28) === 4 + 2 * c ? 230 : 0) + Math.floor(25 * noise()) });
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** By the definition: p = ⌊n/2⌋ pairs (i, n − p + i); 1 / (mean|x_i − x_j| / mean|z_i − z_j| + ε). */
function modeSeekingRef(x: Float64Array, z: Float64Array, n: number, eps = MODE_SEEKING_EPS): number {
  const p = Math.floor(n / 2);
  const gap = (v: Float64Array) => {
    const f = v.length / n;
    let total = 0;
    for (let i = 0; i < p; i++) for (let e = 0; e < f; e++) total += Math.abs(v[i * f + e] - v[(n - p + i) * f + e]);
    return total / (p * f);
  };
  return 1 / (gap(x) / gap(z) + eps);
}

describe('abs', () => {
  it('matches |x| and has sign(x) as its gradient', async () => {
    const x = randomArray(37, 3, -2, 2);
    const y = await tidy(engine, () => abs(toGpu(engine, x, [37]))).toArray();
    expectClose(y, x.map(Math.abs), 1e-6, 1e-6, 'abs');
    await gradCheck(engine, (t) => abs(t), [{ data: randomArray(3 * 5, 4), shape: [3, 5] }], { eps: 1e-3 });
  });
});

describe('modeSeekingLoss', () => {
  it.each([
    [[2, 1, 3, 3], 4], [[5, 1, 4, 3], 7], [[7, 2, 2, 5], 1], [[128, 1, 28, 28], 100],
  ])('matches the float64 reference for images %j and z of %i', async (shape, latent) => {
    const n = shape[0];
    const x = randomArray(size(shape), 11 + n, -1, 1);
    const z = randomArray(n * latent, 12 + n);
    const y = await tidy(engine, () => modeSeekingLoss(toGpu(engine, x, shape), toGpu(engine, z, [n, latent, 1, 1]))).toArray();
    expect(y.length).toBe(1);
    expectClose(y, [modeSeekingRef(x, z, n)], 1e-5, 1e-6, `${shape}`);
  });

  it('pairs ⌊n/2⌋ images and refuses a batch without pairs or of another size than z', () => {
    expect([1, 2, 5, 128].map(modeSeekingPairs)).toEqual([0, 1, 2, 64]);
    tidy(engine, () => {
      expect(() => modeSeekingLoss(toGpu(engine, [1, 2], [1, 1, 1, 2]), toGpu(engine, [1], [1, 1, 1, 1]))).toThrow(/a batch of 1 has no pairs/);
      expect(() => modeSeekingLoss(toGpu(engine, new Float64Array(8), [4, 1, 1, 2]), toGpu(engine, new Float64Array(3), [3, 1, 1, 1]))).toThrow(/4 images but 3 latents/);
    });
  });

  it('gradients by finite differences, alone and through a shared conv: two forwards, one backward', async () => {
    const z = randomArray(5 * 3, 8);
    await gradCheck(engine, (x) => modeSeekingLoss(x, toGpu(engine, z, [5, 3, 1, 1])), [{ data: randomArray(5 * 1 * 3 * 4, 9), shape: [5, 1, 3, 4] }], { eps: 1e-3, samples: 24 });
    const z2 = randomArray(4 * 2, 10);
    await gradCheck(engine, (w, a, b) => concat([
      modeSeekingLoss(conv2d(a, w, null, { stride: 1, padding: 1 }), toGpu(engine, z2, [4, 2, 1, 1])),
      modeSeekingLoss(conv2d(b, w, null, { stride: 2, padding: 0 }), toGpu(engine, z2, [4, 2, 1, 1])),
    ], 0), [
      { data: randomArray(2 * 1 * 9, 11), shape: [2, 1, 3, 3] },
      { data: randomArray(4 * 16, 12), shape: [4, 1, 4, 4] },
      { data: randomArray(4 * 25, 13), shape: [4, 1, 5, 5] },
    ], { eps: 1e-3, samples: 24 });
  });
});

describe('pairedRows', () => {
  it.each([[2], [5], [8], [9]])('asks one class of both images of each pair, batch %i', async (n) => {
    const labels = Array.from({ length: n }, (_, i) => (3 * i + 1) % 10);
    const rows = await tidy(engine, () => pairedRows(oneHot(engine, labels, 10))).toArray();
    const p = Math.floor(n / 2);
    const classOf = (i: number) => Array.from(rows.slice(i * 10, i * 10 + 10)).indexOf(1);
    expect(rows.length).toBe(n * 10);
    for (let i = 0; i < n - p; i++) expect(classOf(i), `row ${i}`).toBe(labels[i]);
    for (let i = 0; i < p; i++) expect(classOf(n - p + i), `row ${n - p + i}`).toBe(classOf(i));
  });
});

describe('GanTrainer with modeSeeking', () => {
  it('asks G, and D in G\'s step, for one class per pair; D\'s own step keeps the batch\'s labels', async () => {
    const n = 7;
    const labels = [3, 1, 4, 1, 5, 9, 2];
    const trainer = new GanTrainer(engine, { ...DEFAULT_GAN_CONFIG, ngf: 4, ndf: 4, seed: 2, conditional: true, modeSeeking: 1 });
    const inputs: Tensor[] = [];
    const rowsSeen: Tensor[] = [];
    const forward = trainer.G.forward.bind(trainer.G);
    const discriminate = trainer.D.discriminate.bind(trainer.D);
    trainer.G.forward = ((x: Tensor) => (inputs.push(keep(x)), forward(x))) as typeof trainer.G.forward;
    trainer.D.discriminate = ((x: Tensor, rows?: Tensor | null) => (rows && rowsSeen.push(keep(rows)), discriminate(x, rows))) as typeof trainer.D.discriminate;
    const real = randn(engine, [n, 1, 28, 28]);
    trainer.step(real, labels).dispose();
    const classesOf = async (t: Tensor, width: number, offset: number) => {
      const v = await t.toArray();
      return Array.from({ length: n }, (_, i) => Array.from(v.slice(i * width + offset, i * width + offset + 10)).indexOf(1));
    };
    const latent = DEFAULT_GAN_CONFIG.latentDim;
    const p = modeSeekingPairs(n);
    const paired = [...labels.slice(0, n - p), ...labels.slice(0, p)];
    expect(inputs).toHaveLength(2);
    expect(await classesOf(inputs[0], latent + 10, latent)).toEqual(labels);
    expect(await classesOf(inputs[1], latent + 10, latent)).toEqual(paired);
    expect(rowsSeen).toHaveLength(3);
    expect(await classesOf(rowsSeen[0], 10, 0)).toEqual(labels);
    expect(await classesOf(rowsSeen[1], 10, 0)).toEqual(labels);
    expect(await classesOf(rowsSeen[2], 10, 0)).toEqual(paired);
    for (const t of [...inputs, ...rowsSeen, real]) t.dispose();
    trainer.dispose();
  });
});

describe('--mode-seeking in training', () => {
  const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-ms-run-'));
  const base = (out: string) => ['--data', dataDir, '--out', out, '--batch-size', '8', '--seed', '3', '--ngf', '8', '--ndf', '8', '--conditional'];
  const tensorsOf = (out: string) => readSafetensors(join(out, 'checkpoints/latest.safetensors')).tensors;
  const bytes = (t: { data: { buffer: ArrayBufferLike } }) => Buffer.from(t.data.buffer as ArrayBuffer);

  it('an interrupted and resumed conditional run ends bitwise equal to an uninterrupted one; λ is stored and fixed on resume', async () => {
    const whole = tmp();
    await train([...base(whole), '--mode-seeking', '1', '--epochs', '2'], { engine, ...quiet });
    const parts = tmp();
    expect(await train([...base(parts), '--recipe', 'mode-seeking', '--epochs', '2', '--max-steps', '3'], { engine, ...quiet })).toMatchObject({ steps: 3, stopped: true });
    expect(await train(['--resume', parts], { engine, ...quiet })).toMatchObject({ steps: 10, stopped: false });
    const a = tensorsOf(whole);
    const b = tensorsOf(parts);
    for (const name of Object.keys(a)) expect(bytes(b[name]).equals(bytes(a[name])), name).toBe(true);
    expect(JSON.parse(readSafetensors(join(parts, 'checkpoints/latest.safetensors')).metadata.config)).toMatchObject({ modeSeeking: 1, conditional: true });
    await expect(train(['--resume', parts, '--mode-seeking', '0.5', '--epochs', '3'], { engine, ...quiet })).rejects.toThrow(/--mode-seeking 0.5 contradicts the checkpoint's 1/);
  });

  it('changes what is trained, differently for each λ; off stores nothing', async () => {
    // One after another: runs sharing the engine interleave its random stream when they overlap.
    const runs = [];
    for (const lambda of ['0', '1', '10', '10']) {
      const out = tmp();
      await train([...base(out), '--mode-seeking', lambda, '--epochs', '1', '--max-steps', '2'], { engine, ...quiet });
      runs.push({ out, weight: tensorsOf(out)['generator.0.weight'] });
    }
    expect(bytes(runs[3].weight).equals(bytes(runs[2].weight))).toBe(true);
    expect(bytes(runs[1].weight).equals(bytes(runs[0].weight))).toBe(false);
    expect(bytes(runs[2].weight).equals(bytes(runs[1].weight))).toBe(false);
    expect(JSON.parse(readSafetensors(join(runs[0].out, 'checkpoints/latest.safetensors')).metadata.config).modeSeeking).toBeUndefined();
  });

  it.each([
    ['a negative λ', ['--mode-seeking=-1'], /^--mode-seeking -1: must be at least 0/],
    ['a word', ['--mode-seeking', 'lots'], /^--mode-seeking lots: /],
    ['a huge λ', ['--mode-seeking', '1000'], /^--mode-seeking 1000: must be at most 100/],
  ])('refuses %s with one line naming the flag', (_what, argv, message) => {
    expect(() => parseTrainOptions(argv)).toThrow(message);
  });

  it('refuses a batch of one, which has no pairs, before any training', async () => {
    expect(() => refuseUngroupedBatch({ minibatchStd: 0, batchSize: 1, modeSeeking: 1 })).toThrow(/^--mode-seeking pairs G's images, so it needs a --batch-size of at least 2, not 1$/);
    expect(() => refuseUngroupedBatch({ minibatchStd: 0, batchSize: 2, modeSeeking: 1 })).not.toThrow();
    expect(() => refuseUngroupedBatch({ minibatchStd: 0, batchSize: 1, modeSeeking: 0 })).not.toThrow();
    await expect(train(['--data', dataDir, '--out', tmp(), '--batch-size', '1', '--mode-seeking', '2', '--ngf', '8', '--ndf', '8'], { engine, ...quiet })).rejects.toThrow(/--mode-seeking pairs/);
  });
});
