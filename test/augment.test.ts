// DiffAugment's translation + cutout (diff_augment.wgsl, ops/augment.ts) against a float64 reference of
// DiffAugment's rand_translation then rand_cutout, on awkward sizes and draws at the edges of their ranges; its
// backward by finite differences; its draws from the engine's stream (no readback, reproducible by key).
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { diffAugment, augmentSizes, type AugmentPolicy } from '../src/tensor/ops/augment.js';
import { tidy } from '../src/tensor/autograd.js';
import { rngState, setRngState } from '../src/tensor/state.js';
import { concat } from '../src/tensor/ops/misc.js';
import type { AugmentSizes } from '../src/kernels/augment.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** torch.randint(0, k) from a uniform draw, as the kernel does it in f32. */
const pick = (u: number, k: number) => Math.min(k - 1, Math.floor(Math.fround(u * k)));

/** Written from DiffAugment's PyTorch code: x padded by one zero pixel, gathered at the clamped shifted grid, then the mask. */
function augmentRef(x: Float64Array, [n, c, h, w]: number[], draws: Float64Array, s: AugmentSizes): Float64Array {
  const y = new Float64Array(x.length);
  for (let b = 0; b < n; b++) {
    const tr = pick(draws[4 * b], 2 * s.shiftH + 1) - s.shiftH;
    const tc = pick(draws[4 * b + 1], 2 * s.shiftW + 1) - s.shiftW;
    const mask = new Float64Array(h * w).fill(1);
    if (s.cutH && s.cutW) {
      const or = pick(draws[4 * b + 2], h + (1 - (s.cutH % 2)));
      const oc = pick(draws[4 * b + 3], w + (1 - (s.cutW % 2)));
      for (let i = 0; i < s.cutH; i++) for (let j = 0; j < s.cutW; j++) {
        const r = Math.min(Math.max(i + or - Math.floor(s.cutH / 2), 0), h - 1);
        const q = Math.min(Math.max(j + oc - Math.floor(s.cutW / 2), 0), w - 1);
        mask[r * w + q] = 0;
      }
    }
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      // the padded image's row i + tr + 1, clamped to its zero border
      const pr = Math.min(Math.max(i + tr + 1, 0), h + 1);
      const pc = Math.min(Math.max(j + tc + 1, 0), w + 1);
      const inside = pr >= 1 && pr <= h && pc >= 1 && pc <= w;
      const v = inside ? x[((b * c + ch) * h + pr - 1) * w + pc - 1] : 0;
      y[((b * c + ch) * h + i) * w + j] = v * mask[i * w + j];
    }
  }
  return y;
}

/** Draws for n images: the first rows at the ends of (0, 1] (what random.wgsl can return, 1 included), the rest random. */
function edgeDraws(n: number, seed: number): Float64Array {
  const d = randomArray(4 * n, seed, 0, 1);
  const ends = [[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1], [1, 0, 1, 0], [2 ** -25, 0.999999, 0.5, 0.4999]];
  ends.slice(0, n).forEach((row, b) => row.forEach((v, k) => { d[4 * b + k] = Math.fround(v); }));
  return d;
}

const POLICIES: AugmentPolicy[][] = [['translation'], ['cutout'], ['translation', 'cutout']];
const SHAPES = [[1, 1, 28, 28], [5, 2, 9, 13], [4, 3, 1, 1], [3, 1, 2, 5], [2, 1, 16, 3]];

describe('diffAugment', () => {
  it('sizes as DiffAugment: shift int(size/8 + 0.5), cutout int(size/2 + 0.5)', () => {
    expect(augmentSizes(['translation', 'cutout'], 28, 28)).toEqual({ shiftH: 4, shiftW: 4, cutH: 14, cutW: 14 });
    expect(augmentSizes(['cutout'], 9, 13)).toEqual({ shiftH: 0, shiftW: 0, cutH: 5, cutW: 7 });
    expect(augmentSizes(['translation'], 3, 1)).toEqual({ shiftH: 0, shiftW: 0, cutH: 0, cutW: 0 });
    expect(augmentSizes(['translation'], 4, 12)).toMatchObject({ shiftH: 1, shiftW: 2 });
  });

  for (const policy of POLICIES) {
    it.each(SHAPES)(`${policy.join(',')} matches the float64 reference on [%i, %i, %i, %i], edge draws included`, async (...shape: number[]) => {
      const [n, , h, w] = shape;
      const x = randomArray(shape.reduce((a, b) => a * b, 1), 11 + h);
      const draws = edgeDraws(n, 5 + w);
      const y = await tidy(engine, () => diffAugment(toGpu(engine, x, shape), policy, { draws: toGpu(engine, draws, [n, 4]) })).toArray();
      expectClose(y, augmentRef(x, shape, draws, augmentSizes(policy, h, w)), 0, 1e-3, `${policy} ${shape}`);
    });
  }

  it('reaches every shift and cutout position on 28×28 (draws from the stream)', async () => {
    const n = 400;
    const x = new Float64Array(n * 784).fill(1);
    const y = await tidy(engine, () => diffAugment(toGpu(engine, x, [n, 1, 28, 28]), ['translation', 'cutout'], { key: { seed: 9, counter: 4 } })).toArray();
    // Zeros of an all-ones image: the uncovered border (rows/cols the shift left empty) and the square.
    const emptyRows = new Set<number>();
    let fullyCut = 0;
    for (let b = 0; b < n; b++) {
      let top = 0;
      while (top < 28 && [...Array(28).keys()].every((j) => y[b * 784 + top * 28 + j] === 0)) top++;
      emptyRows.add(top);
      let zeros = 0;
      for (let i = 0; i < 784; i++) if (y[b * 784 + i] === 0) zeros++;
      if (zeros >= 14 * 14 - 1) fullyCut++;
    }
    // top rows emptied by a downward shift: 0…4 (plus a square touching row 0 now and then)
    for (const t of [0, 1, 2, 3, 4]) expect(emptyRows.has(t), `shift ${t}`).toBe(true);
    expect(fullyCut).toBeGreaterThan(n / 10);
  });

  it('the backward pass is the transpose: finite differences, and two augmented batches then one backward (the GAN pattern)', async () => {
    for (const [shape, policy] of [[[2, 2, 7, 9], ['translation', 'cutout']], [[1, 1, 28, 28], ['translation']], [[3, 1, 5, 4], ['cutout']]] as [number[], AugmentPolicy[]][]) {
      const [n] = shape;
      const drawsA = edgeDraws(n, 21);
      const drawsB = randomArray(4 * n, 22, 0, 1);
      const size = shape.reduce((a, b) => a * b, 1);
      await gradCheck(engine, (x) => diffAugment(x, policy, { draws: toGpu(engine, drawsA, [n, 4]) }), [{ data: randomArray(size, 3), shape }], { samples: 24 });
      // G's image reaches D twice (as real and fake reach it in D's step): gradients of both paths add up.
      await gradCheck(engine, (x) => concat([
        diffAugment(x, policy, { draws: toGpu(engine, drawsA, [n, 4]) }),
        diffAugment(x, policy, { draws: toGpu(engine, drawsB, [n, 4]) }),
      ], 0), [{ data: randomArray(size, 4), shape }], { samples: 24 });
    }
  });

  it('draws from the engine stream: one key per call, the same key gives the same images, nothing drawn when off', async () => {
    const shape = [3, 1, 28, 28];
    const x = randomArray(3 * 784, 8);
    setRngState(engine, { seed: 77, counter: 10 });
    const a = await tidy(engine, () => diffAugment(toGpu(engine, x, shape), ['translation', 'cutout'])).toArray();
    expect(rngState(engine)).toEqual({ seed: 77, counter: 11 });
    const b = await tidy(engine, () => diffAugment(toGpu(engine, x, shape), ['translation', 'cutout'], { key: { seed: 77, counter: 10 } })).toArray();
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    const c = await tidy(engine, () => diffAugment(toGpu(engine, x, shape), ['translation', 'cutout'])).toArray();
    expect(Buffer.from(c.buffer).equals(Buffer.from(a.buffer))).toBe(false);
    const same = tidy(engine, () => {
      const t = toGpu(engine, x, shape);
      return diffAugment(t, []) === t;
    });
    expect(same).toBe(true);
    expect(rngState(engine)).toEqual({ seed: 77, counter: 12 });
  });

  it('refuses a rank other than 4 and draws of the wrong shape', () => {
    tidy(engine, () => {
      expect(() => diffAugment(toGpu(engine, [1, 2, 3], [3]), ['cutout'])).toThrow(/NCHW \(rank 4\)/);
      expect(() => diffAugment(toGpu(engine, new Float64Array(8), [2, 1, 2, 2]), ['cutout'], { draws: toGpu(engine, new Float64Array(4), [1, 4]) })).toThrow(/draws must be \[2, 4\]/);
    });
  });
});
