// pad2d (per-side zero padding, negative = crop) and Keras's 'same' convolutions built on it, against float64
// references written from TensorFlow's definition of 'same'.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { pad2d } from '../src/tensor/ops/pad.js';
import { tidy, backward } from '../src/tensor/autograd.js';
import { Conv2d, ConvTranspose2d, samePadding } from '../src/nn/layers.js';
import { copyInto } from '../src/tensor/ops/create.js';
import { sum } from '../src/tensor/ops/reduce.js';
import { mul } from '../src/tensor/ops/elementwise.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** y[p, i, j] = x[p, i − top, j − left] where inside x, else 0. */
function padRef(x: Float64Array, [n, c, h, w]: number[], [t, b, l, r]: number[]): Float64Array {
  const oh = h + t + b;
  const ow = w + l + r;
  const y = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const si = i - t;
        const sj = j - l;
        if (si >= 0 && si < h && sj >= 0 && sj < w) y[(p * oh + i) * ow + j] = x[(p * h + si) * w + sj];
      }
    }
  }
  return y;
}

/** TensorFlow's 'same': out = ceil(in / s), total = max((out − 1)·s + k − in, 0), before = ⌊total / 2⌋. */
function tfSame(size: number, k: number, s: number): [number, number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** float64 conv2d with 'same' padding and bias, by the definition. */
function sameConvRef(x: Float64Array, [n, cin, h, w]: number[], wt: Float64Array, cout: number, k: number, s: number, bias: Float64Array): Float64Array {
  const [oh, top] = tfSame(h, k, s);
  const [ow, left] = tfSame(w, k, s);
  const y = new Float64Array(n * cout * oh * ow);
  for (let b = 0; b < n; b++) for (let co = 0; co < cout; co++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    let acc = bias[co];
    for (let ci = 0; ci < cin; ci++) for (let a = 0; a < k; a++) for (let e = 0; e < k; e++) {
      const r = i * s - top + a;
      const c = j * s - left + e;
      if (r < 0 || r >= h || c < 0 || c >= w) continue;
      acc += x[((b * cin + ci) * h + r) * w + c] * wt[((co * cin + ci) * k + a) * k + e];
    }
    y[((b * cout + co) * oh + i) * ow + j] = acc;
  }
  return y;
}

/**
 * float64 transposed conv with TF's 'same' (conv2d_transpose): out = in·s, and output pixel o takes input i
 * through kernel tap o + before − i·s, where `before` is the padding of the forward conv from out to in.
 */
function sameConvTransposeRef(x: Float64Array, [n, cin, h, w]: number[], wt: Float64Array, cout: number, k: number, s: number): Float64Array {
  const oh = h * s;
  const ow = w * s;
  const [, top] = tfSame(oh, k, s);
  const [, left] = tfSame(ow, k, s);
  const y = new Float64Array(n * cout * oh * ow);
  for (let b = 0; b < n; b++) for (let ci = 0; ci < cin; ci++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const v = x[((b * cin + ci) * h + i) * w + j];
    for (let co = 0; co < cout; co++) for (let a = 0; a < k; a++) for (let e = 0; e < k; e++) {
      const r = i * s - top + a;
      const c = j * s - left + e;
      if (r < 0 || r >= oh || c < 0 || c >= ow) continue;
      y[((b * cout + co) * oh + r) * ow + c] += v * wt[((ci * cout + co) * k + a) * k + e];
    }
  }
  return y;
}

describe('pad2d', () => {
  const cases: [number[], number[]][] = [
    [[1, 1, 3, 5], [0, 1, 0, 1]],
    [[2, 3, 7, 4], [2, 0, 1, 3]],
    [[1, 2, 5, 6], [-1, -2, 0, -3]],
    [[3, 1, 4, 4], [1, -1, -2, 2]],
    [[1, 1, 1, 1], [3, 2, 0, 5]],
  ];
  it.each(cases)('matches the float64 reference on %j padded by %j', async (shape, pad) => {
    const x = randomArray(shape.reduce((a, b) => a * b, 1), 5);
    const y = await tidy(engine, () => pad2d(toGpu(engine, x, shape), pad as [number, number, number, number])).toArray();
    expect(Array.from(y)).toEqual(Array.from(Float32Array.from(padRef(x, shape, pad))));
  });

  it('has the interior slice as its gradient (finite differences), for padding and for cropping', async () => {
    await gradCheck(engine, (x) => pad2d(x, [0, 1, 2, 1]), [{ data: randomArray(2 * 3 * 5, 1), shape: [1, 2, 3, 5] }]);
    await gradCheck(engine, (x) => pad2d(x, [-1, -1, 0, -2]), [{ data: randomArray(2 * 2 * 4 * 5, 2), shape: [2, 2, 4, 5] }]);
  });

  it('refuses a wrong rank, fractional amounts and a crop that leaves nothing', () => {
    const x = toGpu(engine, randomArray(6, 3), [1, 1, 2, 3]);
    expect(() => pad2d(toGpu(engine, randomArray(6, 3), [2, 3]), [0, 0, 0, 0])).toThrow(/pad2d: input must be NCHW/);
    expect(() => pad2d(x, [0.5, 0, 0, 0])).toThrow(/pad2d: padding must be 4 integers/);
    expect(() => pad2d(x, [-1, -1, 0, 0])).toThrow(/leaves nothing/);
  });
});

describe("Keras 'same' padding", () => {
  it('is asymmetric for even kernels and stride 2, the odd pixel after', () => {
    expect(samePadding(28, 4, 1)).toEqual([1, 2]);
    expect(samePadding(28, 5, 1)).toEqual([2, 2]);
    expect(samePadding(28, 3, 2)).toEqual([0, 1]);
    expect(samePadding(14, 3, 2)).toEqual([0, 1]);
    expect(samePadding(7, 3, 2)).toEqual([1, 1]);
  });

  const convCases: [number, number, number, number][] = [];
  for (const k of [2, 3, 4, 5]) for (const s of [1, 2]) convCases.push([k, s, 7 + k, 5 + s]);
  it.each(convCases)("Conv2d k%i stride %i 'same' on %i×%i matches float64 (forward and input gradient)", async (k, s, h, w) => {
    const [n, cin, cout] = [2, 3, 5];
    const layer = new Conv2d(engine, cin, cout, k, { stride: s, padding: 'same' });
    const wt = randomArray(cout * cin * k * k, k * 10 + s);
    const bias = randomArray(cout, 3);
    copyInto(layer.weight, toGpu(engine, wt, [cout, cin, k, k]));
    copyInto(layer.bias!, toGpu(engine, bias, [cout]));
    const xs = [n, cin, h, w];
    const x = randomArray(n * cin * h * w, 7);
    const ref = sameConvRef(x, xs, wt, cout, k, s, bias);
    const y = tidy(engine, () => layer.forward(toGpu(engine, x, xs)));
    expect(y.shape).toEqual([n, cout, Math.ceil(h / s), Math.ceil(w / s)]);
    expectClose(await y.toArray(), ref, 1e-4, 1e-3, 'y');
    // d(Σ y·g)/dx by finite differences of the float64 reference at a few points.
    const g = randomArray(ref.length, 9);
    const xt = toGpu(engine, x, xs, true);
    const dx = await tidy(engine, () => {
      const out = sum(mul(layer.forward(xt), toGpu(engine, g, y.shape)));
      backward(out);
      return xt.grad!;
    }).toArray();
    for (const at of [0, Math.floor(x.length / 3), x.length - 1]) {
      const bumped = Float64Array.from(x);
      bumped[at] += 1e-6;
      const up = sameConvRef(bumped, xs, wt, cout, k, s, bias);
      let d = 0;
      for (let i = 0; i < up.length; i++) d += (up[i] - ref[i]) * g[i];
      expect(Math.abs(dx[at] - d / 1e-6), `dx[${at}]`).toBeLessThan(1e-3 + 1e-3 * Math.abs(d / 1e-6));
    }
    layer.dispose();
    y.dispose();
  });

  it.each([[4, 1, 7, 7], [4, 2, 7, 7], [5, 2, 4, 3], [3, 2, 5, 6], [5, 1, 3, 4]])("ConvTranspose2d k%i stride %i 'same' on %i×%i matches float64", async (k, s, h, w) => {
    const [n, cin, cout] = [2, 3, 2];
    const layer = new ConvTranspose2d(engine, cin, cout, k, { stride: s, padding: 'same', bias: false });
    const wt = randomArray(cin * cout * k * k, k + s);
    copyInto(layer.weight, toGpu(engine, wt, [cin, cout, k, k]));
    const x = randomArray(n * cin * h * w, 4);
    const y = tidy(engine, () => layer.forward(toGpu(engine, x, [n, cin, h, w])));
    expect(y.shape).toEqual([n, cout, h * s, w * s]);
    expectClose(await y.toArray(), sameConvTransposeRef(x, [n, cin, h, w], wt, cout, k, s), 1e-4, 1e-3, 'y');
    layer.dispose();
    y.dispose();
  });
});
