// The minibatch standard-deviation feature (Karras et al. 2018; groups as StyleGAN's): a float64 reference on
// awkward sizes and group sizes, finite differences (also two forwards then one backward through shared
// weights), and the spec layer: round trip, shapes, the dcgan preset's option, and refused bad specs.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { minibatchStd } from '../src/tensor/ops/minibatch-std.js';
import { conv2d } from '../src/tensor/ops/conv.js';
import { concat } from '../src/tensor/ops/misc.js';
import { tidy, noGrad } from '../src/tensor/autograd.js';
import { dcganSpec } from '../src/gan/presets.js';
import { validateSpec, discriminatorShapes, buildDiscriminatorOf, type GanSpec } from '../src/gan/spec.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** By the definition: image b is in group b mod M (M = N / G); per group, mean over (c, h, w) of √(biased variance + eps). */
function minibatchStdRef(x: Float64Array, [n, c, h, w]: number[], groupSize: number, eps = 1e-8): Float64Array {
  const g = Math.min(groupSize, n);
  const m = n / g;
  const f = c * h * w;
  const stat = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let total = 0;
    for (let e = 0; e < f; e++) {
      let mu = 0;
      for (let k = 0; k < g; k++) mu += x[(k * m + j) * f + e] / g;
      let v = 0;
      for (let k = 0; k < g; k++) v += (x[(k * m + j) * f + e] - mu) ** 2 / g;
      total += Math.sqrt(v + eps);
    }
    stat[j] = total / f;
  }
  const y = new Float64Array(n * (c + 1) * h * w);
  for (let b = 0; b < n; b++) {
    for (let e = 0; e < f; e++) y[b * (f + h * w) + e] = x[b * f + e];
    for (let p = 0; p < h * w; p++) y[b * (f + h * w) + f + p] = stat[b % m];
  }
  return y;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('minibatchStd', () => {
  it.each([
    [[4, 3, 5, 5], 2], [[5, 2, 3, 2], 8], [[1, 2, 3, 3], 4], [[6, 1, 1, 1], 3], [[8, 4, 2, 3], 4], [[9, 1, 7, 1], 1],
  ])('matches the float64 reference on %j with group size %i', async (shape, groupSize) => {
    const x = randomArray(size(shape), 31 + shape[0], -2, 2);
    const y = await tidy(engine, () => minibatchStd(toGpu(engine, x, shape), groupSize)).toArray();
    expect(y.length).toBe(size(shape) / shape[1] * (shape[1] + 1));
    expectClose(y, minibatchStdRef(x, shape, groupSize), 1e-5, 1e-3, `${shape} group ${groupSize}`);
  });

  it('refuses a batch that does not split into groups, a bad group size, a rank other than 4', () => {
    tidy(engine, () => {
      expect(() => minibatchStd(toGpu(engine, new Float64Array(6 * 4), [6, 1, 2, 2]), 4)).toThrow(/batch of 6 does not split into groups of 4/);
      expect(() => minibatchStd(toGpu(engine, new Float64Array(4), [4, 1, 1, 1]), 0)).toThrow(/group size/);
      expect(() => minibatchStd(toGpu(engine, new Float64Array(4), [4, 1]), 2)).toThrow(/rank 4/);
    });
  });

  it('gradients by finite differences, alone and as D uses it: two forwards through shared weights, one backward', async () => {
    await gradCheck(engine, (x) => minibatchStd(x, 2), [{ data: randomArray(4 * 2 * 3 * 3, 5), shape: [4, 2, 3, 3] }], { samples: 24 });
    await gradCheck(engine, (x) => minibatchStd(x, 8), [{ data: randomArray(3 * 1 * 2 * 5, 6), shape: [3, 1, 2, 5] }], { samples: 24 });
    await gradCheck(engine, (wt, real, fake) => concat([
      minibatchStd(conv2d(real, wt, null, { stride: 1, padding: 1 }), 2),
      minibatchStd(conv2d(fake, wt, null, { stride: 1, padding: 1 }), 2),
    ], 0), [
      { data: randomArray(3 * 2 * 9, 7), shape: [3, 2, 3, 3] },
      { data: randomArray(4 * 2 * 16, 8), shape: [4, 2, 4, 4] },
      { data: randomArray(4 * 2 * 16, 9), shape: [4, 2, 4, 4] },
    ], { samples: 24 });
  });
});

describe('the minibatchStd spec layer', () => {
  const sizes = { latentDim: 100, ngf: 8, ndf: 8, spectralNorm: false };

  it('the dcgan preset puts it before D\'s last conv; the spec round-trips; D builds with the shapes stateShapesOf says', async () => {
    for (const spectralNorm of [false, true]) {
      const spec = dcganSpec({ ...sizes, spectralNorm, minibatchStd: 4 });
      const d = spec.discriminator;
      expect(d[d.length - 3]).toEqual({ type: 'minibatchStd', groupSize: 4 });
      expect(d[d.length - 2]).toMatchObject({ type: 'conv2d', in: 17 });
      expect(validateSpec(JSON.parse(JSON.stringify(spec)), 'x')).toEqual(spec);
      const shapes = discriminatorShapes(spec);
      const D = buildDiscriminatorOf(engine, spec);
      const state = new Map([...D.stateDict()].map(([name, t]) => [name, [...t.shape]]));
      expect(state).toEqual(new Map([...shapes.parameters, ...shapes.buffers]));
      const out = noGrad(engine, () => D.forward(toGpu(engine, randomArray(8 * 784, 2), [8, 1, 28, 28])));
      expect(out.shape).toEqual([8, 1]);
      out.dispose();
      D.dispose();
    }
    expect(dcganSpec(sizes).discriminator.some((l) => l.type === 'minibatchStd')).toBe(false);
  });

  const edit = (change: (spec: { discriminator: Record<string, unknown>[] }) => void): unknown => {
    const spec = JSON.parse(JSON.stringify(dcganSpec({ ...sizes, minibatchStd: 4 }))) as GanSpec;
    change(spec as unknown as { discriminator: Record<string, unknown>[] });
    return spec;
  };
  it.each([
    ['a group size of 0', (s: { discriminator: Record<string, unknown>[] }) => { s.discriminator[5].groupSize = 0; }, /discriminator layer 5 \(minibatchStd\) field "groupSize" is 0: expected a whole number 1…4096/],
    ['a fractional group size', (s: { discriminator: Record<string, unknown>[] }) => { s.discriminator[5].groupSize = 2.5; }, /field "groupSize" is 2.5/],
    ['a group size past the cap', (s: { discriminator: Record<string, unknown>[] }) => { s.discriminator[5].groupSize = 5000; }, /field "groupSize" is 5000/],
    ['no group size', (s: { discriminator: Record<string, unknown>[] }) => { delete s.discriminator[5].groupSize; }, /discriminator layer 5 \(minibatchStd\) has no "groupSize"/],
    ['an unknown field', (s: { discriminator: Record<string, unknown>[] }) => { s.discriminator[5].eps = 1e-8; }, /layer 5 \(minibatchStd\) has unknown field "eps"/],
    ['a next conv that ignores the extra map', (s: { discriminator: Record<string, unknown>[] }) => { s.discriminator[6].in = 16; }, /discriminator layer 6 \(conv2d\): its input is \[17, 7, 7\], expected \[16, H, W\]/],
    ['a place after flatten', (s: { discriminator: Record<string, unknown>[] }) => { s.discriminator.push({ type: 'minibatchStd', groupSize: 4 }); }, /discriminator layer 8 \(minibatchStd\): its input is \[1\], expected \[C, H, W\]/],
  ])('refuses %s', (_what, change, message) => {
    expect(() => validateSpec(edit(change), 'bad.safetensors')).toThrow(message);
    expect(() => validateSpec(edit(change), 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
  });
});
