import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, gradCheck } from './helpers.js';
import { ganLoss } from '../src/gan/losses.js';
import { tidy } from '../src/tensor/autograd.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** Logits on both sides of ±1 but at least 0.1 from the hinge's kinks, so finite differences are smooth. */
function logits(n: number, seed: number): Float64Array {
  return randomArray(n, seed, -3, 3).map((v) => (Math.abs(Math.abs(v) - 1) < 0.1 ? v + 0.25 : v));
}

describe('hinge loss', () => {
  const hinge = ganLoss('hinge', 0.9);
  const relu = (v: number) => Math.max(0, v);
  const mean = (a: Float64Array, f: (v: number) => number) => a.reduce((s, v) => s + f(v), 0) / a.length;

  it('matches float64 for D and G', async () => {
    const real = logits(13, 1);
    const fake = logits(7, 2);
    const [d, g] = await tidy(engine, () => {
      const r = toGpu(engine, real, [13, 1]);
      const f = toGpu(engine, fake, [7, 1]);
      return [hinge.discriminator(r, f).toArray(), hinge.generator(f).toArray()];
    });
    expect((await d)[0]).toBeCloseTo(mean(real, (v) => relu(1 - v)) + mean(fake, (v) => relu(1 + v)), 5);
    expect((await g)[0]).toBeCloseTo(-mean(fake, (v) => v), 5);
  });

  it('gradients match finite differences', async () => {
    await gradCheck(engine, (r, f) => hinge.discriminator(r, f), [{ data: logits(11, 3), shape: [11, 1] }, { data: logits(5, 4), shape: [5, 1] }]);
    await gradCheck(engine, (f) => hinge.generator(f), [{ data: logits(9, 5), shape: [9, 1] }]);
  });
});

describe('rpgan loss', () => {
  const rpgan = ganLoss('rpgan', 0.9);
  const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  const pairedMean = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + softplus(v - b[i]), 0) / a.length;

  it('matches float64 for D and G, pairing real i with fake i', async () => {
    for (const [n, seed] of [[1, 21], [7, 22], [13, 23]]) {
      const real = logits(n, seed);
      const fake = logits(n, seed + 100);
      const [d, g] = await tidy(engine, () => {
        const r = toGpu(engine, real, [n, 1]);
        const f = toGpu(engine, fake, [n, 1]);
        return [rpgan.discriminator(r, f).toArray(), rpgan.generator(f, r).toArray()];
      });
      expect((await d)[0]).toBeCloseTo(pairedMean(fake, real), 5);
      expect((await g)[0]).toBeCloseTo(pairedMean(real, fake), 5);
    }
  });

  it('gradients match finite differences, in both logits', async () => {
    await gradCheck(engine, (r, f) => rpgan.discriminator(r, f), [{ data: logits(9, 24), shape: [9, 1] }, { data: logits(9, 25), shape: [9, 1] }]);
    await gradCheck(engine, (f, r) => rpgan.generator(f, r), [{ data: logits(6, 26), shape: [6, 1] }, { data: logits(6, 27), shape: [6, 1] }]);
  });

  it('refuses unpaired batches and a G loss without the real logits', () => {
    tidy(engine, () => {
      const r = toGpu(engine, logits(4, 28), [4, 1]);
      const f = toGpu(engine, logits(3, 29), [3, 1]);
      expect(() => rpgan.discriminator(r, f)).toThrow(/4 real logits cannot pair with 3 fake/);
      expect(() => rpgan.generator(f)).toThrow(/needs D's logits on the real batch/);
    });
  });
});

describe('bce loss', () => {
  it('is D: BCE(real, label) + BCE(fake, 0) and G: BCE(fake, label)', async () => {
    const bce = ganLoss('bce', 0.9);
    const real = logits(6, 6);
    const fake = logits(6, 7);
    const ref = (x: number, t: number) => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
    const mean = (a: Float64Array, t: number) => a.reduce((s, v) => s + ref(v, t), 0) / a.length;
    const [d, g] = await tidy(engine, () => {
      const r = toGpu(engine, real, [6, 1]);
      const f = toGpu(engine, fake, [6, 1]);
      return [bce.discriminator(r, f).toArray(), bce.generator(f).toArray()];
    });
    expect((await d)[0]).toBeCloseTo(mean(real, 0.9) + mean(fake, 0), 5);
    expect((await g)[0]).toBeCloseTo(mean(fake, 0.9), 5);
  });
});
