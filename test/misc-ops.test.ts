import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { upsampleNearest, dropout, concat } from '../src/tensor/ops/misc.js';
import { backward, tidy } from '../src/tensor/autograd.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function upsampleRef(x: Float64Array, [n, c, h, w]: number[], s: number): Float64Array {
  const oh = h * s;
  const ow = w * s;
  const y = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) y[(p * oh + i) * ow + j] = x[(p * h + Math.floor(i / s)) * w + Math.floor(j / s)];
    }
  }
  return y;
}

/** Concatenation along `axis` in plain loops over the output's coordinates. */
function concatRef(parts: { data: Float64Array; shape: number[] }[], axis: number): Float64Array {
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((a, p) => a + p.shape[axis], 0);
  const outer = size(shape.slice(0, axis));
  const rest = size(shape.slice(axis + 1));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      for (let a = 0; a < p.shape[axis]; a++) {
        for (let r = 0; r < rest; r++) out.push(p.data[(o * p.shape[axis] + a) * rest + r]);
      }
    }
  }
  return Float64Array.from(out);
}

describe('upsampleNearest', () => {
  it('forward matches the reference', async () => {
    for (const [shape, s] of [[[1, 3, 5, 7], 2], [[3, 2, 3, 3], 3], [[3, 5, 1, 2], 2], [[1, 1, 4, 3], 1]] as [number[], number][]) {
      const x = randomArray(size(shape), size(shape));
      const y = tidy(engine, () => upsampleNearest(toGpu(engine, x, shape), s));
      expect(y.shape).toEqual([shape[0], shape[1], shape[2] * s, shape[3] * s]);
      expect(Array.from(await y.toArray())).toEqual(Array.from(upsampleRef(x, shape, s)));
      y.dispose();
    }
  });
  it('gradient sums each block', async () => {
    await gradCheck(engine, (x) => upsampleNearest(x, 2), [{ data: randomArray(30, 3), shape: [2, 3, 1, 5] }]);
    await gradCheck(engine, (x) => upsampleNearest(x, 3), [{ data: randomArray(12, 4), shape: [1, 1, 3, 4] }]);
  });
  it('rejects bad ranks and scales', () => {
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(12, 1), [3, 4]);
      expect(() => upsampleNearest(x, 2)).toThrow(/upsampleNearest: input must be NCHW \(rank 4\), got \[3, 4\]/);
      expect(() => upsampleNearest(toGpu(engine, randomArray(4, 1), [1, 1, 2, 2]), 1.5)).toThrow(/upsampleNearest: scale must be an integer ≥ 1, got 1.5/);
    });
  });
});

describe('dropout', () => {
  it('zeroes about p of the elements and scales the rest by 1/(1 − p)', async () => {
    for (const [n, p] of [[4001, 0.3], [4096, 0.5], [999, 0.1]] as const) {
      const x = randomArray(n, n, 0.5, 2); // no zeros, so a zero in y marks a dropped element
      const y = tidy(engine, () => dropout(toGpu(engine, x, [n]), p, true, 1234));
      const values = await y.toArray();
      let dropped = 0;
      const expected = Array.from(values, (v, i) => {
        if (v === 0) {
          dropped++;
          return 0;
        }
        return x[i] / (1 - p);
      });
      expectClose(values, expected, 1e-6, 1e-3, `kept values n=${n}`);
      expect(Math.abs(dropped / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
      y.dispose();
    }
  });

  it('the same seed gives the same mask; without a seed the engine stream advances', async () => {
    const n = 257;
    const x = randomArray(n, 3, 0.5, 2);
    const [a, b, c, d, e] = tidy(engine, () => {
      const t = toGpu(engine, x, [n]);
      return [dropout(t, 0.5, true, 7), dropout(t, 0.5, true, 7), dropout(t, 0.5, true, 8), dropout(t, 0.5, true), dropout(t, 0.5, true)];
    });
    const [va, vb, vc, vd, ve] = await Promise.all([a, b, c, d, e].map((t) => t.toArray()));
    expect(Array.from(va)).toEqual(Array.from(vb));
    expect(Array.from(va)).not.toEqual(Array.from(vc));
    expect(Array.from(vd)).not.toEqual(Array.from(ve));
    for (const t of [a, b, c, d, e]) t.dispose();
  });

  it('backward applies the forward mask', async () => {
    for (const shape of [[3, 35], [4, 16]]) {
      const n = size(shape);
      const x = toGpu(engine, randomArray(n, n, 0.5, 2), shape, true);
      const dy = randomArray(n, n + 1);
      const y = tidy(engine, () => {
        const y = dropout(x, 0.4, true);
        backward(y, toGpu(engine, dy, shape));
        return y;
      });
      const [vy, vx, vg] = await Promise.all([y.toArray(), x.toArray(), x.grad!.toArray()]);
      expectClose(vg, Array.from(vy, (v, i) => (v === 0 ? 0 : dy[i] / 0.6)), 1e-6, 1e-3, `mask n=${n}`);
      expect(Array.from(vy, (v, i) => v !== 0 && Math.abs(v - vx[i] / 0.6) > 1e-5).some(Boolean)).toBe(false);
      for (const t of [y, x.grad!, x]) t.dispose();
    }
    await gradCheck(engine, (x) => dropout(x, 0.3, true, 99), [{ data: randomArray(15, 5), shape: [3, 5] }]);
  });

  it('is the identity when not training or p = 0', async () => {
    const x = randomArray(10, 1);
    const outs = tidy(engine, () => [dropout(toGpu(engine, x, [10]), 0.5, false), dropout(toGpu(engine, x, [10]), 0, true)]);
    for (const y of outs) {
      expect(Array.from(await y.toArray())).toEqual(Array.from(x, Math.fround));
      y.dispose();
    }
    await gradCheck(engine, (t) => dropout(t, 0.5, false), [{ data: x, shape: [10] }]);
  });

  it('rejects p outside [0, 1)', () => {
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(4, 1), [4]);
      expect(() => dropout(x, 1, true)).toThrow(/dropout: p must be in \[0, 1\), got 1/);
      expect(() => dropout(x, -0.1, true)).toThrow(/dropout: p must be in \[0, 1\), got -0.1/);
      expect(() => dropout(x, NaN, false)).toThrow(/dropout: p must be in \[0, 1\), got NaN/);
    });
  });
});

describe('concat', () => {
  const cases: [number[][], number][] = [
    [[[3, 1, 5, 3], [3, 3, 5, 3], [3, 5, 5, 3]], 1], // channels 1 + 3 + 5, odd planes
    [[[1, 2, 2, 2], [1, 4, 2, 2]], 1], // every block a multiple of 4: vec4 path
    [[[1, 3, 7], [2, 3, 7]], 0],
    [[[2, 3, 1], [2, 3, 4], [2, 3, 2]], 2],
    [[[2, 5], [2, 3]], -1],
    [[[3, 7]], 1],
  ];
  it('forward matches the reference along several axes', async () => {
    for (const [shapes, axis] of cases) {
      const parts = shapes.map((shape, k) => ({ data: randomArray(size(shape), 10 * k + size(shape)), shape }));
      const y = tidy(engine, () => concat(parts.map((p) => toGpu(engine, p.data, p.shape)), axis));
      const ax = axis < 0 ? axis + shapes[0].length : axis;
      const outShape = [...shapes[0]];
      outShape[ax] = shapes.reduce((a, s) => a + s[ax], 0);
      expect(y.shape).toEqual(outShape);
      expect(Array.from(await y.toArray())).toEqual(Array.from(concatRef(parts, ax)));
      y.dispose();
    }
  });

  it('backward slices the gradient back to each input', async () => {
    await gradCheck(engine, (a, b) => concat([a, b], 1), [
      { data: randomArray(2 * 1 * 3, 1), shape: [2, 1, 3, 1] },
      { data: randomArray(2 * 3 * 3, 2), shape: [2, 3, 3, 1] },
    ]);
    await gradCheck(engine, (a, b, c) => concat([a, b, c], 0), [
      { data: randomArray(4, 3), shape: [1, 4] },
      { data: randomArray(8, 4), shape: [2, 4] },
      { data: randomArray(4, 5), shape: [1, 4] },
    ]);
    // an input without requiresGrad in the middle gets no slice; its neighbours still get theirs
    const a = toGpu(engine, randomArray(8, 6), [1, 2, 2, 2], true);
    const c = toGpu(engine, randomArray(4, 7), [1, 1, 2, 2], true);
    const dy = randomArray(20, 8);
    tidy(engine, () => backward(concat([a, toGpu(engine, randomArray(8, 9), [1, 2, 2, 2]), c]), toGpu(engine, dy, [1, 5, 2, 2])));
    expect(Array.from(await a.grad!.toArray())).toEqual(Array.from(dy.slice(0, 8), Math.fround));
    expect(Array.from(await c.grad!.toArray())).toEqual(Array.from(dy.slice(16), Math.fround));
    for (const t of [a.grad!, a, c.grad!, c]) t.dispose();
  });

  it('rejects mismatched shapes, a bad axis and an empty list', () => {
    tidy(engine, () => {
      const t = (shape: number[]) => toGpu(engine, randomArray(size(shape), 1), shape);
      expect(() => concat([t([2, 3, 4, 4]), t([2, 5, 4, 3])])).toThrow(/concat: shapes \[2, 3, 4, 4\], \[2, 5, 4, 3\] differ outside axis 1/);
      expect(() => concat([t([2, 3, 4, 4]), t([3, 3, 4, 4])])).toThrow(/concat: shapes \[2, 3, 4, 4\], \[3, 3, 4, 4\] differ outside axis 1/);
      expect(() => concat([t([2, 3]), t([2, 3, 1])], 0)).toThrow(/concat: shapes \[2, 3\], \[2, 3, 1\] differ outside axis 0/);
      expect(() => concat([t([2, 3])], 2)).toThrow(/concat: axis 2 out of range for shape \[2, 3\]/);
      expect(() => concat([])).toThrow(/concat: needs at least one tensor/);
    });
  });
});
