// Strided views (issue 14 item 2): expand is a zero-stride view over its input's storage; the binary and
// reduce kernels read views through their strides (float64 references on awkward shapes and broadcast
// patterns); every other kernel gets a contiguous copy; sum/mean backward and backward()'s seed are views.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { bucketBytes } from '../src/runtime/pool.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { backward, tidy } from '../src/tensor/autograd.js';
import { add, sub, mul, div, exp } from '../src/tensor/ops/elementwise.js';
import { expand, sum, mean } from '../src/tensor/ops/reduce.js';
import { reshape, contiguous } from '../src/tensor/ops/shape.js';
import { matmul } from '../src/tensor/ops/matmul.js';
import { conv2d } from '../src/tensor/ops/conv.js';
import { copyInto, fill } from '../src/tensor/ops/create.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** Row-major index → values of x (shape xs) broadcast to shape `to`, in float64. */
function broadcastRef(x: ArrayLike<number>, xs: number[], to: number[]): Float64Array {
  const out = new Float64Array(to.reduce((a, b) => a * b, 1));
  const lead = to.length - xs.length;
  for (let i = 0; i < out.length; i++) {
    let rest = i;
    let ix = 0;
    let stride = 1;
    for (let d = to.length - 1; d >= 0; d--) {
      const coord = rest % to[d];
      rest = Math.floor(rest / to[d]);
      const k = d - lead;
      if (k >= 0) {
        if (xs[k] !== 1) ix += coord * stride;
        stride *= xs[k];
      }
    }
    out[i] = x[ix];
  }
  return out;
}

/** Σ over `axes` of x (shape), keeping them as 1s, in float64. */
function sumRef(x: ArrayLike<number>, shape: number[], axes: number[]): Float64Array {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) {
    let rest = i;
    let o = 0;
    let stride = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const coord = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      if (!axes.includes(d)) o += coord * stride;
      stride *= outShape[d];
    }
    out[o] += x[i];
  }
  return out;
}

const ops = { add, sub, mul, div } as const;
const refOps = { add: (a: number, b: number) => a + b, sub: (a: number, b: number) => a - b, mul: (a: number, b: number) => a * b, div: (a: number, b: number) => a / b };

// [x's shape, expanded to, the other operand's shape]: batch 1, sizes that are no multiple of 4, leading axes
// added, middle and outer broadcast, a one-element source, and an expanded view on both sides.
const patterns: [number[], number[], number[]][] = [
  [[3, 1, 5], [3, 4, 5], [3, 4, 5]],
  [[1, 3, 1], [1, 3, 6], [6]],
  [[7], [2, 3, 7], [2, 1, 7]],
  [[1], [5, 3], [5, 3]],
  [[5, 1, 7], [5, 3, 7], [1, 3, 1]],
  [[2, 1, 1, 3], [2, 5, 4, 3], [5, 1, 1]],
];

describe('expand', () => {
  it('is a view: same storage, zero strides on broadcast axes, no new buffer', () => {
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(15, 1), [3, 1, 5]);
      const before = engine.pool.inUseBytes;
      const y = expand(x, [2, 3, 4, 5]);
      expect(engine.pool.inUseBytes).toBe(before);
      expect(y.storage).toBe(x.storage);
      expect(y.strides).toEqual([0, 5, 0, 1]);
      expect(y.isContiguous).toBe(false);
      expect(() => y.buffer).toThrow(/strided view/);
    });
  });

  it('reads back (toArray) as the float64 broadcast', async () => {
    for (const [xs, to] of patterns) {
      const data = randomArray(xs.reduce((a, b) => a * b, 1), 2);
      const y = tidy(engine, () => expand(toGpu(engine, data, xs), to));
      expectClose(await y.toArray(), broadcastRef(data, xs, to), 0, 1, `expand ${xs} → ${to}`);
      y.dispose();
    }
  });

  it('refuses shapes it cannot broadcast to', () => {
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(6, 1), [2, 3]);
      for (const to of [[3, 3], [2], [2, 4], [4, 3, 2]]) expect(() => expand(x, to), `${to}`).toThrow(/expand: cannot broadcast \[2, 3\]/);
    });
  });

  it('gradient matches finite differences (alone and inside a product)', async () => {
    await gradCheck(engine, (x) => expand(x, [2, 3, 4, 5]), [{ data: randomArray(15, 3), shape: [3, 1, 5] }], { eps: 1e-2 });
    await gradCheck(engine, (x, y) => mul(expand(x, [1, 3, 6]), y), [
      { data: randomArray(3, 4), shape: [1, 3, 1] }, { data: randomArray(6, 5), shape: [6] },
    ]);
    await gradCheck(engine, (x) => exp(reshape(expand(x, [4, 3, 7]), [12, 7])), [{ data: randomArray(7, 6), shape: [7] }]);
  });
});

describe('binary kernel on strided views', () => {
  it('matches float64 for every op and broadcast pattern, the view on either side', async () => {
    for (const [xs, to, ys] of patterns) {
      const xd = randomArray(xs.reduce((a, b) => a * b, 1), 7, 0.5, 2);
      const yd = randomArray(ys.reduce((a, b) => a * b, 1), 8, 0.5, 2);
      const outShape = to.length >= ys.length ? to : ys;
      const xr = broadcastRef(xd, xs, outShape);
      const yr = broadcastRef(yd, ys, outShape);
      for (const name of Object.keys(ops) as (keyof typeof ops)[]) {
        const [left, right] = tidy(engine, () => {
          const x = expand(toGpu(engine, xd, xs), to);
          const y = toGpu(engine, yd, ys);
          return [ops[name](x, y), ops[name](y, x)];
        });
        expect(left.isContiguous).toBe(true);
        expectClose(await left.toArray(), xr.map((v, i) => refOps[name](v, yr[i])), 1e-6, 1e-6, `${name} view ${xs}→${to} with ${ys}`);
        expectClose(await right.toArray(), xr.map((v, i) => refOps[name](yr[i], v)), 1e-6, 1e-6, `${name} ${ys} with view ${xs}→${to}`);
        left.dispose();
        right.dispose();
      }
    }
  });

  it('reads two views at once', async () => {
    const a = randomArray(3, 9), b = randomArray(4, 10);
    const c = tidy(engine, () => add(expand(toGpu(engine, a, [3, 1]), [3, 4]), expand(toGpu(engine, b, [4]), [3, 4])));
    expectClose(await c.toArray(), Float64Array.from({ length: 12 }, (_, i) => a[Math.floor(i / 4)] + b[i % 4]), 1e-7, 1e-6, 'view + view');
    c.dispose();
  });
});

describe('reduce kernel on strided views', () => {
  const cases: [number[], number[], number[]][] = [
    [[3, 1, 5], [2, 3, 4, 5], [0]],
    [[3, 1, 5], [2, 3, 4, 5], [2]],
    [[3, 1, 5], [2, 3, 4, 5], [1, 3]],
    [[3, 1, 5], [2, 3, 4, 5], [0, 1, 2, 3]],
    [[1, 7], [1, 6, 7], [1]],
    [[5, 1], [5, 9], [0]],
  ];
  it('sum and mean match float64 over each axis set, with and without keepDims', async () => {
    for (const [xs, to, axes] of cases) {
      const data = randomArray(xs.reduce((a, b) => a * b, 1), 11);
      const full = broadcastRef(data, xs, to);
      const ref = sumRef(full, to, axes);
      const count = axes.reduce((n, a) => n * to[a], 1);
      const [s, m, flat] = tidy(engine, () => {
        const x = expand(toGpu(engine, data, xs), to);
        return [sum(x, axes, true), mean(x, axes, true), sum(x, axes)];
      });
      expect(s.shape).toEqual(to.map((d, i) => (axes.includes(i) ? 1 : d)));
      expect(flat.shape).toEqual(to.filter((_, i) => !axes.includes(i)));
      expectClose(await s.toArray(), ref, 1e-6, 1e-5, `sum ${xs}→${to} over ${axes}`);
      expectClose(await m.toArray(), ref.map((v) => v / count), 1e-6, 1e-5, `mean ${xs}→${to} over ${axes}`);
      expectClose(await flat.toArray(), ref, 1e-6, 1e-5, `sum ${xs}→${to} over ${axes}, dropped`);
      for (const t of [s, m, flat]) t.dispose();
    }
  });

  it('gives the same bits as the same sum over a contiguous copy', async () => {
    const data = randomArray(3 * 37, 12);
    const [a, b] = tidy(engine, () => {
      const x = expand(toGpu(engine, data, [3, 1, 37]), [3, 41, 37]);
      return [sum(x, [1, 2]), sum(contiguous(x), [1, 2])];
    });
    expect(Array.from(await a.toArray())).toEqual(Array.from(await b.toArray()));
    a.dispose();
    b.dispose();
  });
});

describe('kernels that index row-major', () => {
  it('get a contiguous copy of a view (unary, matmul, conv, copyInto, reshape across axes)', async () => {
    const xd = randomArray(4, 13);
    const wd = randomArray(3 * 4, 14);
    const [e, mm, conv, copied, flat] = tidy(engine, () => {
      const x = expand(toGpu(engine, xd, [1, 4]), [5, 4]);
      const w = toGpu(engine, wd, [4, 3]);
      const img = expand(toGpu(engine, xd, [1, 1, 1, 4]), [2, 1, 4, 4]);
      const k = toGpu(engine, [1, 0.5, -1, 2], [1, 1, 2, 2]);
      const dst = fill(engine, [5, 4], 0);
      copyInto(dst, x);
      return [exp(x), matmul(x, w), conv2d(img, k, null), dst, reshape(x, [20])];
    });
    const xr = broadcastRef(xd, [1, 4], [5, 4]);
    expectClose(await e.toArray(), xr.map(Math.exp), 1e-6, 1e-6, 'exp');
    const mr = new Float64Array(15);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) mr[i * 3 + j] += xr[i * 4 + k] * wd[k * 3 + j];
    expectClose(await mm.toArray(), mr, 1e-5, 1e-5, 'matmul');
    const cr = new Float64Array(2 * 3 * 3);
    const kk = [1, 0.5, -1, 2];
    for (let n = 0; n < 2; n++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) cr[n * 9 + i * 3 + j] += xd[j + b] * kk[a * 2 + b];
    }
    expectClose(await conv.toArray(), cr, 1e-5, 1e-5, 'conv2d');
    expectClose(await copied.toArray(), xr, 0, 1, 'copyInto');
    expect(flat.isContiguous).toBe(true);
    expectClose(await flat.toArray(), xr, 0, 1, 'reshape');
    for (const t of [e, mm, conv, copied, flat]) t.dispose();
  });

  it('reshape keeps a view when it only adds or drops axes of length 1', () => {
    tidy(engine, () => {
      const x = expand(toGpu(engine, randomArray(3, 1), [3, 1]), [3, 4]);
      const y = reshape(x, [1, 3, 1, 4]);
      expect(y.storage).toBe(x.storage);
      expect(y.strides).toEqual([0, 1, 0, 0]);
      expect(reshape(x, [12]).storage).not.toBe(x.storage);
    });
  });
});

describe('sum, mean and backward() without full-size fills', () => {
  it('mean backward allocates one full-size array (the leaf gradient), not a fill and a product as well', async () => {
    const shape = [64, 1000];
    const bytes = bucketBytes(64 * 1000 * 4);
    const x = toGpu(engine, randomArray(64 * 1000, 15), shape, true);
    tidy(engine, () => {
      const loss = mean(x);
      engine.pool.peakInUseBytes = engine.pool.inUseBytes;
      const before = engine.pool.inUseBytes;
      backward(loss);
      expect(engine.pool.peakInUseBytes - before).toBeLessThan(1.5 * bytes);
    });
    const g = await x.grad!.toArray();
    expect(x.grad!.isContiguous).toBe(true);
    expect(g.every((v) => v === Math.fround(1 / 64000))).toBe(true);
    x.grad!.dispose();
    x.dispose();
  });

  it('sum and mean gradients over some axes match finite differences', async () => {
    await gradCheck(engine, (x) => sum(x, [0, 2], true), [{ data: randomArray(2 * 3 * 5, 16), shape: [2, 3, 5] }]);
    await gradCheck(engine, (x) => mean(x, [1]), [{ data: randomArray(2 * 3 * 5, 17), shape: [2, 3, 5] }]);
    await gradCheck(engine, (x) => mul(mean(x, [0], true), x), [{ data: randomArray(4 * 3, 18), shape: [4, 3] }]);
  });

  it('a root with several elements is seeded with ones', async () => {
    const x = toGpu(engine, randomArray(6, 19), [2, 3], true);
    tidy(engine, () => backward(mul(x, toGpu(engine, [1, 2, 3, 4, 5, 6], [2, 3]))));
    expect(Array.from(await x.grad!.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    x.grad!.dispose();
    x.dispose();
  });

  it('sum, mean and their backward leave nothing behind outside a tidy (reduce.ts used to leak a fill)', async () => {
    const x = toGpu(engine, randomArray(24, 20), [2, 3, 4], true);
    await engine.sync();
    const before = engine.pool.inUseBytes;
    for (const f of [(t: Tensor) => sum(t, []), (t: Tensor) => mean(t, []), (t: Tensor) => mean(t), (t: Tensor) => sum(t, [1])]) {
      const y = f(x);
      backward(y);
      y.dispose();
      x.grad!.dispose();
      x.grad = null;
      expect(engine.pool.inUseBytes).toBe(before);
    }
    x.dispose();
  });
});
