// Inference in chunks (generate, evaluate's sampling, the critic's scoring), the library pieces moved out of the
// CLI (generator loading, real-image choice, the candidate pool, the two-sample test), and the random streams'
// separation.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine } from './helpers.js';
import { randn, tensor } from '../src/tensor/ops/create.js';
import { setRngState } from '../src/tensor/state.js';
import { Prng } from '../src/data/batches.js';
import { buildGenerator, dcganInit } from '../src/gan/models.js';
import { moduleState } from '../src/gan/checkpoint.js';
import { FeatureClassifier } from '../src/gan/classifier.js';
import { generate } from '../src/gan/trainer.js';
import { chunkRanges, generatePixels, inferenceChunk, dcganBytesPerImage, INFERENCE_CHUNK } from '../src/gan/sampling.js';
import { sampleAndClassify } from '../src/gan/evaluate.js';
import { loadGeneratorState, EMA_PREFIX } from '../src/gan/generator-state.js';
import { sampleImages, trainSampleSeed } from '../src/gan/real-samples.js';
import { streamSeed } from '../src/gan/streams.js';
import { CriticTrainer, criticStreams, criticLogitsOfImages, criticLogits } from '../src/gan/critic.js';
import { CandidatePool } from '../src/gan/candidates.js';
import { twoSampleAccuracy, twoSampleTest } from '../src/gan/two-sample.js';
import { loadGenerator } from '../src/node/load-generator.js';
import { generateImages } from '../src/cli/generate.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});
const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-sampling-'));

/** A small generator (latent 8, width 4) with DCGAN initial weights. */
function smallGenerator(seed: number) {
  setRngState(engine, { seed, counter: 0 });
  const G = buildGenerator(engine, 8, 4);
  dcganInit(engine, G);
  return G;
}

describe('chunks', () => {
  it('cover 0…n−1 in consecutive chunks of nearly equal size, none above the maximum', () => {
    for (const [n, max] of [[0, 4], [1, 4], [4, 4], [5, 4], [9, 4], [700, 256], [10000, 256], [7, 1]]) {
      const chunks = chunkRanges(n, max);
      expect(chunks.length).toBe(Math.ceil(n / max));
      let next = 0;
      for (const c of chunks) {
        expect(c.start).toBe(next);
        expect(c.count).toBeGreaterThanOrEqual(1);
        expect(c.count).toBeLessThanOrEqual(max);
        next += c.count;
      }
      expect(next).toBe(n);
      const sizes = chunks.map((c) => c.count);
      if (sizes.length) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(() => chunkRanges(5, 0)).toThrow(/chunk size must be a whole number ≥ 1/);
    expect(() => chunkRanges(-1, 4)).toThrow(/n must be a whole number ≥ 0/);
  });

  it('are sized from the device limit: 256 images of the default width, fewer for wide models', () => {
    const limit = engine.device.limits.maxStorageBufferBindingSize;
    expect(inferenceChunk(engine, 64)).toBe(Math.min(INFERENCE_CHUNK, Math.floor(limit / dcganBytesPerImage(64))));
    expect(inferenceChunk(engine, 1024) * dcganBytesPerImage(1024)).toBeLessThanOrEqual(limit);
    expect(inferenceChunk(engine, 1024)).toBeLessThan(INFERENCE_CHUNK);
    expect(inferenceChunk(engine, 1e9)).toBe(1);
  });

  it('G in chunks gives the images of G on the whole batch: n not a multiple of the chunk, and n = 1', async () => {
    const G = smallGenerator(3);
    for (const n of [7, 1]) {
      const z = randn(engine, [n, 8, 1, 1], 0, 1, { key: { seed: 5, counter: n } });
      const whole = generate(engine, G, z);
      const want = await whole.toArray();
      for (const chunk of [1, 3, 4, 1000]) {
        const got = await generatePixels(engine, G, z, chunk);
        expect([got.count, got.height, got.width]).toEqual([n, 28, 28]);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.pixels[i] - want[i]));
        // Bitwise where the chunk holds the whole batch; otherwise within float32 rounding (a kernel plan may
        // sum in another order for another batch size).
        if (chunk >= n) expect(worst).toBe(0);
        else expect(worst).toBeLessThan(1e-5);
      }
      z.dispose();
      whole.dispose();
    }
    G.dispose();
  });

  it('evaluate\'s sampling gives the same images and classifier outputs whatever the chunk', async () => {
    const G = smallGenerator(4);
    const classifier = new FeatureClassifier(engine).eval();
    const options = { seed: 2, batchSize: 5, keepPixels: true };
    const whole = await sampleAndClassify(engine, G, 8, classifier, 11, options);
    const chunked = await sampleAndClassify(engine, G, 8, classifier, 11, { ...options, chunk: 2 });
    const close = (a: Float32Array, b: Float32Array) => a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * (1 + Math.abs(b[i])));
    expect(close(chunked.pixels!, whole.pixels!)).toBe(true);
    expect(close(chunked.outputs.features, whole.outputs.features)).toBe(true);
    expect(close(chunked.outputs.logits, whole.outputs.logits)).toBe(true);
    // z for batch b is the key (seed, b): the second batch's first image is G of that key's first row
    const z = randn(engine, [5, 8, 1, 1], 0, 1, { key: { seed: 2, counter: 1 } });
    const second = generate(engine, G, z);
    expect(Array.from((await second.toArray()).subarray(0, 784))).toEqual(Array.from(whole.pixels!.subarray(5 * 784, 6 * 784)));
    for (const t of [z, second]) t.dispose();
    classifier.dispose();
    G.dispose();
  });
});

describe('generator files', () => {
  it('builds G from a checkpoint\'s tensors, the moving average when there is one unless trained is asked', async () => {
    const G = smallGenerator(6);
    const A = smallGenerator(7);
    const tensors = { ...(await moduleState('generator.', G)), ...(await moduleState(EMA_PREFIX, A)) };
    const z = randn(engine, [2, 8, 1, 1], 0, 1, { seed: 1 });
    const image = async (M: typeof G) => Array.from(await generate(engine, M, z).toArray());
    const average = loadGeneratorState(engine, tensors, 'ckpt');
    const trained = loadGeneratorState(engine, tensors, 'ckpt', { trained: true });
    expect([average.weights, average.latentDim, average.width]).toEqual(['average', 8, 4]);
    expect(trained.weights).toBe('trained');
    expect(await image(average.G)).toEqual(await image(A));
    expect(await image(trained.G)).toEqual(await image(G));
    expect(() => loadGeneratorState(engine, {}, 'x.safetensors')).toThrow(/x.safetensors: tensor "generator.0.weight" is missing/);
    const odd = { 'generator.0.weight': { dtype: 'F32', shape: [8, 3, 7, 7], data: new Float32Array(8 * 3 * 49) } };
    expect(() => loadGeneratorState(engine, odd, 'y')).toThrow(/y: tensor "generator.0.weight" has shape \[8, 3, 7, 7\], expected \[latentDim, 2·ngf, 7, 7\]/);
    for (const M of [G, A, average.G, trained.G]) M.dispose();
    z.dispose();
  });

  it('loads the shipped generator from its path', () => {
    const { G, latentDim, width, weights } = loadGenerator(engine, 'models/dcgan-fashion-mnist.safetensors');
    expect([latentDim, width]).toEqual([100, 64]);
    expect(['average', 'trained']).toContain(weights);
    G.dispose();
  });
});

describe('real samples', () => {
  const data = { images: Float32Array.from({ length: 20 * 4 }, (_, i) => Math.floor(i / 4)), count: 20, height: 2, width: 2 };
  it('chooses n distinct images by a seeded shuffle', () => {
    const a = sampleImages(data, 6, 1);
    expect(a.count).toBe(6);
    const picked = Array.from({ length: 6 }, (_, i) => a.images[4 * i]);
    expect(new Set(picked).size).toBe(6);
    for (let i = 0; i < 6; i++) expect(Array.from(a.images.subarray(4 * i, 4 * i + 4))).toEqual([picked[i], picked[i], picked[i], picked[i]]);
    expect(sampleImages(data, 6, 1)).toEqual(a);
    expect(sampleImages(data, 6, trainSampleSeed(1))).not.toEqual(a);
    expect(() => sampleImages(data, 21, 1)).toThrow(/cannot choose 21 of 20 images/);
  });
});

describe('random streams', () => {
  it('give each purpose its own seed, the same every time', () => {
    const purposes = ['critic.init', 'critic.z', 'critic.batches', 'critic.held-out', 'critic.accept.0.5'];
    for (const seed of [0, 1, 2 ** 32 - 1]) {
      const seeds = purposes.map((p) => streamSeed(seed, p));
      expect(new Set([...seeds, seed]).size).toBe(purposes.length + 1);
      for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
    }
    expect(streamSeed(7, 'critic.z')).toBe(streamSeed(7, 'critic.z'));
    expect(streamSeed(7, 'critic.z')).not.toBe(streamSeed(8, 'critic.z'));
  });

  it('the critic never draws two things from one (seed, counter) key: initial weights and z at every step', async () => {
    // Every random dispatch's key, read from its uniforms (n, seed, counter, …).
    const G = smallGenerator(9);
    const keys: string[] = [];
    const run = engine.run;
    engine.run = function (call) {
      if (call.shader === 'random' && call.uniforms) {
        const u = new Uint32Array(call.uniforms);
        keys.push(`${u[1]}:${u[2]}`);
      }
      return run.call(this, call);
    };
    let trainer: CriticTrainer | undefined;
    try {
      trainer = new CriticTrainer(engine, G, 8, { seed: 3 });
      const initDraws = keys.length;
      expect(initDraws).toBeGreaterThanOrEqual(7);
      const real = tensor(engine, new Float32Array(4 * 784), [4, 1, 28, 28]);
      for (let step = 0; step < initDraws + 2; step++) trainer.step(real).dispose();
      real.dispose();
    } finally {
      engine.run = run;
    }
    expect(keys.length).toBeGreaterThan(14);
    expect(new Set(keys).size).toBe(keys.length);
    const streams = criticStreams(3);
    expect(keys[0]).toBe(`${streams.init}:0`);
    expect(keys.at(-1)).toBe(`${streams.z}:${keys.length - 8}`);
    trainer!.dispose();
    G.dispose();
  });
});

describe('critic library pieces', () => {
  it('two-sample accuracy: the fraction on the right side of 0', () => {
    expect(twoSampleAccuracy([1, 2, -1], [-1, 0.5, -3])).toBeCloseTo(4 / 6, 15);
    expect(twoSampleAccuracy([1], [-1])).toBe(1);
    expect(twoSampleAccuracy([-1, 0], [1, 0])).toBe(0);
  });

  it('the candidate pool: the first n are evaluate\'s images, acceptance follows the ceiling, and the scores match chunked scoring', async () => {
    const G = smallGenerator(10);
    const trainer = new CriticTrainer(engine, G, 8, { seed: 1 });
    const classifier = new FeatureClassifier(engine).eval();
    const pool = new CandidatePool(engine, trainer.critic, G, classifier, 8, { seed: 4 }, 30);
    const first = await pool.first(12);
    expect(first).toEqual({ indices: [...Array(12).keys()], candidates: 12 });
    // The pool drew its first batch of 30 (its maximum) on evaluate's z: evaluate's 30 images, bit for bit.
    const sampled = await sampleAndClassify(engine, G, 8, classifier, 30, { seed: 4, keepPixels: true });
    const gathered = pool.gather(first!);
    expect(Array.from(gathered.features)).toEqual(Array.from(sampled.outputs.features.subarray(0, 12 * 128)));
    expect(Array.from(gathered.classLogits)).toEqual(Array.from(sampled.outputs.logits.subarray(0, 12 * 10)));
    // the critic's logits of those images, scored again from their pixels in chunks of 5
    const again = await criticLogitsOfImages(engine, trainer.critic, sampled.pixels!.subarray(0, 12 * 784), 12, 28, 28, 5);
    for (let i = 0; i < 12; i++) expect(Math.abs(again[i] - pool.criticLogits[i])).toBeLessThan(1e-5);
    // ceiling −∞ accepts everything, +∞ nothing (so the pool runs out at its maximum)
    expect(await pool.accept(12, -Infinity, new Prng(1))).toEqual(first);
    expect(await pool.accept(12, Infinity, new Prng(1))).toBeNull();
    expect(pool.count).toBe(30);
    // the two-sample test on real images and G's images
    const real = { images: sampled.pixels!.subarray(0, 12 * 784), count: 12, height: 28, width: 28 };
    const result = await twoSampleTest(engine, trainer.critic, G, 8, real, { seed: 77 });
    const realTensor = tensor(engine, real.images, [12, 1, 28, 28]);
    const logits = criticLogits(engine, trainer.critic, realTensor);
    const direct = await logits.toArray();
    expect(result.meanLogitReal).toBeCloseTo(direct.reduce((a, b) => a + b, 0) / 12, 5);
    expect(result.generatedLogits).toHaveLength(12);
    expect(result.accuracy).toBe(twoSampleAccuracy(again, result.generatedLogits));
    logits.dispose();
    realTensor.dispose();
    classifier.dispose();
    trainer.dispose();
    G.dispose();
  });
});

describe('npm run generate with a large n', () => {
  it('--n 700 (above the 668 that used to fit one buffer) writes the grid and 700 files; the images do not depend on the chunking', async () => {
    const dir = tmp();
    const { files } = await generateImages(['--checkpoint', 'models/dcgan-fashion-mnist.safetensors', '--n', '700', '--seed', '3', '--out', join(dir, 'g.png'), '--each', join(dir, 'each')], engine);
    expect(files).toHaveLength(701);
    expect(readdirSync(join(dir, 'each'))).toHaveLength(700);
    const grid = PNG.sync.read(readFileSync(join(dir, 'g.png')));
    expect([grid.width, grid.height]).toEqual([27 * 30 + 2, 26 * 30 + 2]); // 27 columns: ceil(√700)
    // The same seed at n = 200 (one chunk) gives the same first 200 images, and a forced chunk of 64 too.
    await generateImages(['--checkpoint', 'models/dcgan-fashion-mnist.safetensors', '--n', '200', '--seed', '3', '--out', join(dir, 's.png'), '--each', join(dir, 'small')], engine, { chunk: 64 });
    for (const i of [0, 57, 199]) {
      const name = `${String(i).padStart(4, '0')}.png`;
      expect(readFileSync(join(dir, 'small', name)).equals(readFileSync(join(dir, 'each', name))), name).toBe(true);
    }
  });
});
