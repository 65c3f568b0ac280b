// What a backward reads is held by its node (issue 14 item 6) and checked for staleness (issue 15 item 6):
// saved arrays are released as backward() passes each node, a second backward through the same graph throws,
// a tensor the caller holds is never freed by it, an in-place write (copyInto, Adam, the moving average) between
// forward and backward throws naming the op and the tensor, and every layer with state survives the GAN
// pattern — two forwards, then one backward — with the right gradients. Also keep() inside nested tidies.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { bucketBytes } from '../src/runtime/pool.js';
import { getEngine, randomArray, toGpu, expectClose } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { backward, keep, tidy } from '../src/tensor/autograd.js';
import { setRngState } from '../src/tensor/state.js';
import { add, mul, relu } from '../src/tensor/ops/elementwise.js';
import { sum } from '../src/tensor/ops/reduce.js';
import { conv2d } from '../src/tensor/ops/conv.js';
import { batchNorm2d } from '../src/tensor/ops/batchnorm.js';
import { dropout } from '../src/tensor/ops/misc.js';
import { copyInto, fill } from '../src/tensor/ops/create.js';
import { Adam } from '../src/nn/adam.js';
import { SpectralNormConv2d } from '../src/nn/spectral-norm.js';
import { WeightAverage } from '../src/gan/ema.js';
import { buildGenerator, dcganInit } from '../src/gan/models.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** Σ y·r: a scalar whose gradient with respect to y is r. */
const weighted = (y: Tensor, r: Float64Array) => sum(mul(y, toGpu(engine, r, [...y.shape])));

async function takeGrad(t: Tensor): Promise<Float32Array> {
  const g = await t.grad!.toArray();
  t.grad!.dispose();
  t.grad = null;
  return g;
}

describe('saved tensors', () => {
  it('a conv releases its unfolded input as backward() passes it, before the tidy ends', async () => {
    const x = toGpu(engine, randomArray(4 * 3 * 9 * 9, 1), [4, 3, 9, 9]);
    const w = toGpu(engine, randomArray(5 * 3 * 3 * 3, 2), [5, 3, 3, 3], true);
    tidy(engine, () => {
      const before = engine.pool.inUseBytes;
      const y = conv2d(x, w, null);
      const loss = sum(y);
      expect(y.saved.map((s) => s.name)).toEqual(['x', 'w', 'col']);
      backward(loss);
      expect(y.savedState).toBe('released');
      expect(y.saved).toEqual([]);
      w.grad!.dispose();
      w.grad = null;
      // what is left: y and the loss (the gradients in between and the unfolded input are gone)
      expect(engine.pool.inUseBytes - before).toBe(bucketBytes(y.byteLength) + bucketBytes(loss.byteLength));
    });
    x.dispose();
    w.dispose();
  });

  it('a second backward through the same graph throws, and so does one through a disposed node', () => {
    const x = toGpu(engine, randomArray(6, 3), [6], true);
    tidy(engine, () => {
      const loss = sum(relu(mul(x, x)));
      backward(loss);
      expect(() => backward(loss)).toThrow(/backward\(\): trying to backward through sum \[\] a second time.*Run the forward pass again/);
      const h = mul(x, x);
      const other = sum(h);
      h.dispose();
      expect(() => backward(other)).toThrow(/a second time \(or after it was disposed\)/);
    });
    x.grad?.dispose();
    x.dispose();
  });

  it('never frees what the caller holds, and keeps what it saved after the caller let go', async () => {
    const data = randomArray(8, 4);
    const x = toGpu(engine, data, [8], true);
    tidy(engine, () => {
      const h = relu(x); // saves x and h
      const loss = sum(mul(h, h)); // saves h twice
      backward(loss);
      expect(x.isDisposed || h.isDisposed).toBe(false);
    });
    expect(Array.from(await x.toArray())).toEqual(Array.from(Float32Array.from(data)));
    expectClose(await takeGrad(x), data.map((v) => (v > 0 ? 2 * v : 0)), 1e-6, 1e-6, 'd Σ relu(x)² / dx');
    // the caller disposes a constant before backward: the node's reference keeps its values
    const c = toGpu(engine, randomArray(8, 5), [8]);
    tidy(engine, () => {
      const loss = sum(mul(x, c));
      c.dispose();
      backward(loss);
    });
    expect(engine.pool.inUseBytes).toBeGreaterThan(0);
    expectClose(await takeGrad(x), randomArray(8, 5), 1e-7, 1e-6, 'after disposing the constant');
    x.dispose();
  });
});

describe('storage versions', () => {
  it('every in-place writer bumps it: copyInto, Adam, the moving average, running statistics, the u/v update', () => {
    const versions = (ts: Tensor[]) => ts.map((t) => t.storage.version);
    tidy(engine, () => {
      const dst = fill(engine, [4], 0);
      copyInto(dst, fill(engine, [4], 1));
      expect(dst.storage.version).toBe(1);

      const p = toGpu(engine, randomArray(6, 30), [6], true);
      const opt = new Adam(engine, [p], { lr: 1e-3 });
      p.grad = keep(fill(engine, [6], 1));
      opt.update();
      expect(versions([p, opt.m[0], opt.v[0]])).toEqual([1, 1, 1]);
      opt.dispose();

      const source = buildGenerator(engine, 5, 8);
      const average = new WeightAverage(engine, buildGenerator(engine, 5, 8), source, 0.9);
      const weights = [...average.model.stateDict().values()];
      const start = versions(weights);
      average.update(10);
      expect(versions(weights)).toEqual(start.map((v) => v + 1));
      average.dispose();
      source.dispose();

      const [mean, variance] = [fill(engine, [2], 0), fill(engine, [2], 1)];
      const x = toGpu(engine, randomArray(2 * 2 * 3 * 3, 31), [2, 2, 3, 3]);
      batchNorm2d(x, fill(engine, [2], 1), fill(engine, [2], 0), mean, variance, { training: true });
      expect(versions([mean, variance])).toEqual([1, 1]);
      batchNorm2d(x, fill(engine, [2], 1), fill(engine, [2], 0), mean, variance, { training: false });
      expect(versions([mean, variance])).toEqual([1, 1]);

      const layer = new SpectralNormConv2d(engine, 2, 3, 3);
      const uv = [layer.u, layer.v];
      layer.forward(x);
      expect(versions(uv)).toEqual([1, 1]);
      layer.eval().forward(x);
      expect(versions(uv)).toEqual([1, 1]);
      layer.dispose();
    });
  });

  it('copyInto between forward and backward throws, naming the op, the tensor and the versions', () => {
    const x = toGpu(engine, randomArray(2 * 1 * 5 * 5, 5), [2, 1, 5, 5], true);
    const w = toGpu(engine, randomArray(4 * 1 * 3 * 3, 6), [4, 1, 3, 3], true);
    tidy(engine, () => {
      const loss = sum(conv2d(x, w, null));
      copyInto(w, fill(engine, [4, 1, 3, 3], 0.5));
      expect(() => backward(loss)).toThrow(/modified by an inplace operation: conv2d's w \[4, 1, 3, 3\] is at version 1; expected version 0/);
      // nothing ran: no gradient was written
      expect(x.grad).toBeNull();
      expect(w.grad).toBeNull();
      const again = sum(relu(x));
      copyInto(x, fill(engine, x.shape, 1));
      expect(() => backward(again)).toThrow(/relu's x \[2, 1, 5, 5\] is at version 1; expected version 0/);
    });
    x.dispose();
    w.dispose();
  });

  it("Adam's update between forward and backward throws", () => {
    const x = toGpu(engine, randomArray(1 * 2 * 4 * 4, 7), [1, 2, 4, 4]);
    const w = toGpu(engine, randomArray(3 * 2 * 3 * 3, 8), [3, 2, 3, 3], true);
    const opt = new Adam(engine, [w], { lr: 1e-3 });
    tidy(engine, () => {
      backward(sum(conv2d(x, w, null)));
      const loss = sum(conv2d(x, w, null));
      opt.update();
      expect(() => backward(loss)).toThrow(/conv2d's w \[3, 2, 3, 3\] is at version 1; expected version 0/);
    });
    opt.dispose();
    x.dispose();
    w.dispose();
  });

  it("the moving average's update between forward and backward throws", () => {
    const source = buildGenerator(engine, 5, 8);
    dcganInit(engine, source);
    const average = new WeightAverage(engine, buildGenerator(engine, 5, 8), source, 0.9);
    const z = toGpu(engine, randomArray(2 * 5, 9), [2, 5, 1, 1], true);
    tidy(engine, () => {
      const loss = sum(average.model.forward(z));
      average.update(100);
      expect(() => backward(loss)).toThrow(/convTranspose2d's w \[8, 1, 4, 4\] is at version 2; expected version 1/);
    });
    z.dispose();
    average.dispose();
    source.dispose();
  });
});

/** Two forwards then one backward (the GAN pattern) against two forward-backward pairs, per input. */
async function ganPattern(
  leaves: Tensor[], forward: (x: Tensor, call: number) => Tensor, inputs: Tensor[], targets: Float64Array[], before: () => void,
): Promise<Float32Array[]> {
  before();
  tidy(engine, () => backward(add(weighted(forward(inputs[0], 0), targets[0]), weighted(forward(inputs[1], 1), targets[1]))));
  const joint = await Promise.all([...leaves, ...inputs].map(takeGrad));
  before();
  const separate: Float32Array[][] = [];
  for (let k = 0; k < 2; k++) {
    tidy(engine, () => backward(weighted(forward(inputs[k], k), targets[k])));
    separate.push(await Promise.all([...leaves, inputs[k]].map(takeGrad)));
  }
  leaves.forEach((_, i) => expectClose(joint[i], separate[0][i].map((v, j) => v + separate[1][i][j]), 1e-5, 1e-4, `leaf ${i}`));
  for (let k = 0; k < 2; k++) expectClose(joint[leaves.length + k], separate[k][leaves.length], 1e-6, 1e-5, `input ${k}`);
  return joint;
}

describe('the GAN pattern: two forwards, one backward', () => {
  const shape = [3, 4, 5, 5];
  const size = 3 * 4 * 5 * 5;

  it('batchnorm in training mode (running statistics updated in between)', async () => {
    const gamma = toGpu(engine, randomArray(4, 10, 0.5, 1.5), [4], true);
    const beta = toGpu(engine, randomArray(4, 11), [4], true);
    const mean = toGpu(engine, new Float64Array(4), [4]);
    const variance = toGpu(engine, new Float64Array(4).fill(1), [4]);
    const inputs = [toGpu(engine, randomArray(size, 12), shape, true), toGpu(engine, randomArray(size, 13, -2, 3), shape, true)];
    const before = () => tidy(engine, () => {
      copyInto(mean, fill(engine, [4], 0));
      copyInto(variance, fill(engine, [4], 1));
    });
    await ganPattern([gamma, beta], (x) => batchNorm2d(x, gamma, beta, mean, variance, { training: true }), inputs,
      [randomArray(size, 14), randomArray(size, 15)], before);
    for (const t of [gamma, beta, mean, variance, ...inputs]) t.dispose();
  });

  it('dropout (each forward its own mask from the stream)', async () => {
    const inputs = [toGpu(engine, randomArray(size, 16), shape, true), toGpu(engine, randomArray(size, 17), shape, true)];
    const wd = randomArray(size, 18);
    const w = toGpu(engine, wd, shape, true);
    const targets = [randomArray(size, 19), randomArray(size, 20)];
    const start = () => setRngState(engine, { seed: 5, counter: 0 });
    const joint = await ganPattern([w], (x) => dropout(mul(x, w), 0.5, true), inputs, targets, start);
    // and each input's gradient goes through the mask its own forward drew: r·w·2 where kept, 0 where dropped
    start();
    for (let k = 0; k < 2; k++) {
      const y = tidy(engine, () => dropout(mul(inputs[k], w), 0.5, true));
      const kept = await y.toArray();
      y.dispose();
      expectClose(joint[1 + k], Float64Array.from(kept, (v, i) => (v !== 0 ? targets[k][i] * wd[i] * 2 : 0)), 1e-6, 1e-6, `mask ${k}`);
    }
    for (const t of [w, ...inputs]) t.dispose();
  });

  it('spectral-norm conv: the weight gradient uses each forward\'s own u and v (float64 reference)', async () => {
    setRngState(engine, { seed: 21, counter: 0 });
    const [cin, cout, k, n, h] = [2, 3, 3, 2, 6];
    const layer = new SpectralNormConv2d(engine, cin, cout, k, { padding: 1, bias: false });
    const W = Float64Array.from(await layer.weight.toArray());
    let u = Float64Array.from(await layer.u.toArray());
    const xs = [randomArray(n * cin * h * h, 22), randomArray(n * cin * h * h, 23)];
    const rs = [randomArray(n * cout * h * h, 24), randomArray(n * cout * h * h, 25)];
    const cols = cin * k * k;
    const unit = (a: Float64Array) => {
      const norm = Math.hypot(...a) + 1e-12;
      return a.map((v) => v / norm);
    };
    const expected = new Float64Array(W.length);
    for (let f = 0; f < 2; f++) {
      const wtu = new Float64Array(cols);
      for (let o = 0; o < cout; o++) for (let c = 0; c < cols; c++) wtu[c] += W[o * cols + c] * u[o];
      const v = unit(wtu);
      const wv = new Float64Array(cout);
      for (let o = 0; o < cout; o++) for (let c = 0; c < cols; c++) wv[o] += W[o * cols + c] * v[c];
      u = unit(wv);
      let sigma = 0;
      for (let o = 0; o < cout; o++) sigma += u[o] * wv[o];
      // G = dL/dW_normalised for y = conv(x, W/σ) with padding 1, L = Σ y·r
      const G = new Float64Array(W.length);
      const [x, r] = [xs[f], rs[f]];
      for (let b = 0; b < n; b++) for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) {
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
          let acc = 0;
          for (let p = 0; p < h; p++) for (let q = 0; q < h; q++) {
            const [yy, xx] = [p + i - 1, q + j - 1];
            if (yy >= 0 && yy < h && xx >= 0 && xx < h) acc += r[((b * cout + o) * h + p) * h + q] * x[((b * cin + c) * h + yy) * h + xx];
          }
          G[((o * cin + c) * k + i) * k + j] += acc;
        }
      }
      let gw = 0;
      for (let i = 0; i < W.length; i++) gw += G[i] * W[i];
      for (let o = 0; o < cout; o++) for (let c = 0; c < cols; c++) {
        expected[o * cols + c] += G[o * cols + c] / sigma - (gw / (sigma * sigma)) * u[o] * v[c];
      }
    }
    tidy(engine, () => {
      const y0 = layer.forward(toGpu(engine, xs[0], [n, cin, h, h]));
      const y1 = layer.forward(toGpu(engine, xs[1], [n, cin, h, h]));
      backward(add(weighted(y0, rs[0]), weighted(y1, rs[1])));
    });
    const got = await takeGrad(layer.weight);
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < got.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]));
      worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    }
    expect(worst / scale).toBeLessThan(2e-6);
    layer.dispose();
  });
});

describe('keep() and tidy()', () => {
  it('a tensor kept inside a nested tidy survives every enclosing one, even when returned', async () => {
    let kept: Tensor | null = null;
    let returned: Tensor | null = null;
    tidy(engine, () => {
      returned = tidy(engine, () => tidy(engine, () => keep(fill(engine, [3], 2))));
      tidy(engine, () => {
        kept = keep(fill(engine, [3], 1));
      });
    });
    expect(kept!.isDisposed).toBe(false);
    expect(returned!.isDisposed).toBe(false);
    expect(Array.from(await returned!.toArray())).toEqual([2, 2, 2]);
    kept!.dispose();
    returned!.dispose();
    // without keep, a returned tensor still moves to the enclosing scope and dies with it
    let moved: Tensor | null = null;
    tidy(engine, () => {
      moved = tidy(engine, () => fill(engine, [3], 1));
      expect(moved.isDisposed).toBe(false);
    });
    expect(moved!.isDisposed).toBe(true);
  });
});
