import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import * as ew from '../src/tensor/ops/elementwise.js';
import { sum, mean } from '../src/tensor/ops/reduce.js';
import { randn, rand } from '../src/tensor/ops/create.js';
import { tidy } from '../src/tensor/autograd.js';
import { Tensor } from '../src/tensor/tensor.js';
import { unaryOps, unaryCases, unaryGradCases, type UnaryOpName } from '../src/kernels/unary-ops.js';
import { unaryGradKernel, unaryKernel } from '../src/kernels/elementwise.js';
import { shaderSources } from '../src/runtime/shaders.generated.js';
import { preprocess } from '../src/runtime/preprocess.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

type Op = (x: Tensor) => Tensor;
/** Each differentiable op, its scalar (alpha) and an input range; float64 references come from the op table. */
const differentiable: [UnaryOpName, Op, number, number, number][] = [
  ['neg', ew.neg, 0, -2, 2],
  ['exp', ew.exp, 0, -2, 2],
  ['log', ew.log, 0, 0.1, 3],
  ['sqrt', ew.sqrt, 0, 0.1, 3],
  ['square', ew.square, 0, -2, 2],
  ['relu', ew.relu, 0, -2, 2],
  ['leakyRelu', (x) => ew.leakyRelu(x, 0.2), 0.2, -2, 2],
  ['tanh', ew.tanh, 0, -3, 3],
  ['sigmoid', ew.sigmoid, 0, -4, 4],
  ['addScalar', (x) => ew.addScalar(x, 1.5), 1.5, -2, 2],
  ['mulScalar', (x) => ew.mulScalar(x, -0.7), -0.7, -2, 2],
];

describe('the unary op table', () => {
  it('gives every op its own code and generates one switch case per op in both shaders', () => {
    const codes = Object.values(unaryOps).map((op) => op.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, op] of Object.entries(unaryOps)) {
      expect(unaryCases).toContain(`case ${op.code}u { return ${op.f}; } // ${name}`);
      if (op.df) expect(unaryGradCases).toContain(`case ${op.code}u { return ${op.df}; } // ${name}`);
      else expect(unaryGradCases).not.toContain(`case ${op.code}u`);
    }
    const unary = preprocess(shaderSources.unary, { VEC4: false, UNARY_CASES: unaryCases });
    const grad = preprocess(shaderSources.unary_grad, { VEC4: true, UNARY_GRAD_CASES: unaryGradCases });
    expect(unary).toContain('    case 7u { return 1.0 / (1.0 + exp(-v)); } // sigmoid\n');
    expect(grad).toContain('    case 6u { return 1.0 - yv * yv; } // tanh\n');
    expect(unary.match(/case \d+u/g)).toHaveLength(codes.length);
  });

  it('covers every op the tests exercise, and only those plus constant', () => {
    expect([...differentiable.map(([name]) => name), 'constant'].sort()).toEqual(Object.keys(unaryOps).sort());
  });

  it('matches each kernel and its derivative against the float64 references, constant included', async () => {
    const n = 37;
    for (const [name, op] of Object.entries(unaryOps) as [UnaryOpName, (typeof unaryOps)[UnaryOpName]][]) {
      const [lo, hi] = name === 'log' || name === 'sqrt' ? [0.1, 3] : [-2, 2];
      const alpha = 0.3;
      const data = randomArray(n, 7, lo, hi).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
      const dy = randomArray(n, 8);
      const [y, dx] = await tidy(engine, () => {
        const x = toGpu(engine, data, [n]);
        const yArr = unaryKernel(name, x, alpha);
        const dxArr = unaryGradKernel(name, x, yArr, toGpu(engine, dy, [n]), alpha);
        return [Tensor.adopt(yArr), Tensor.adopt(dxArr)];
      });
      expectClose(await y.toArray(), Array.from(data, (v) => op.reference(v, alpha)), 2e-5, 1e-3, `${name} f`);
      expectClose(await dx.toArray(), Array.from(data, (v, i) => dy[i] * op.derivative(v, alpha)), 2e-5, 1e-3, `${name} f'`);
      y.dispose();
      dx.dispose();
    }
  });
});

describe('unary ops', () => {
  for (const [name, op, alpha, lo, hi] of differentiable) {
    const ref = (v: number) => unaryOps[name].reference(v, alpha);
    it(`${name} forward matches float64 on odd and vec4 sizes`, async () => {
      for (const [n, shape] of [[1, [1]], [37, [37]], [3 * 5 * 7, [3, 5, 7]], [64, [4, 16]]] as [number, number[]][]) {
        const data = randomArray(n, n + 1, lo, hi);
        const y = await tidy(engine, () => op(toGpu(engine, data, shape)));
        expectClose(await y.toArray(), Array.from(data, ref), 2e-5, 1e-3, `${name} n=${n}`);
        y.dispose();
      }
    });
    it(`${name} gradient matches finite differences`, async () => {
      // keep relu-like inputs away from the kink so central differences are valid
      const data = randomArray(23, 5, lo, hi).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
      await gradCheck(engine, op, [{ data, shape: [23] }]);
    });
  }
});

describe('binary ops with broadcasting', () => {
  const refs = { add: (a: number, b: number) => a + b, sub: (a: number, b: number) => a - b, mul: (a: number, b: number) => a * b, div: (a: number, b: number) => a / b };
  const cases: [number[], number[]][] = [[[3, 5], [3, 5]], [[2, 3, 5], [5]], [[3, 1], [1, 4]], [[2, 3, 4, 5], [3, 1, 1]], [[1], [7]], [[8], [8]]];
  for (const [name, ref] of Object.entries(refs)) {
    it(`${name} forward`, async () => {
      for (const [sa, sb] of cases) {
        const a = randomArray(sa.reduce((x, y) => x * y, 1), 1);
        const b = randomArray(sb.reduce((x, y) => x * y, 1), 2, 0.5, 2);
        const out = await tidy(engine, () => (ew as Record<string, any>)[name](toGpu(engine, a, sa), toGpu(engine, b, sb)));
        const shape = out.shape;
        const expected: number[] = [];
        const rank = shape.length;
        const idx = (s: number[], coords: number[]) => {
          let off = 0;
          for (let i = 0; i < s.length; i++) off = off * s[i] + (s[i] === 1 ? 0 : coords[rank - s.length + i]);
          return off;
        };
        for (let i = 0; i < out.size; i++) {
          const coords: number[] = [];
          let rest = i;
          for (let d = rank - 1; d >= 0; d--) {
            coords[d] = rest % shape[d];
            rest = Math.floor(rest / shape[d]);
          }
          expected.push(ref(a[idx(sa, coords)], b[idx(sb, coords)]));
        }
        expectClose(await out.toArray(), expected, 2e-6, 1e-3, `${name} ${sa}×${sb}`);
        out.dispose();
      }
    });
    it(`${name} gradient (broadcast)`, async () => {
      await gradCheck(engine, (x, y) => (ew as Record<string, any>)[name](x, y), [
        { data: randomArray(2 * 3 * 4, 3), shape: [2, 3, 4] },
        { data: randomArray(3 * 1, 4, 0.5, 2), shape: [3, 1] },
      ]);
    });
  }
  it('rejects shapes that do not broadcast', async () => {
    await tidy(engine, () => {
      expect(() => ew.add(toGpu(engine, randomArray(6, 1), [2, 3]), toGpu(engine, randomArray(4, 1), [4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
    });
  });
});

describe('reductions', () => {
  it('sum and mean over axes match float64', async () => {
    const shape = [3, 5, 7, 2];
    const data = randomArray(210, 7);
    for (const axes of [[0], [1], [3], [0, 2], [1, 2, 3], [0, 1, 2, 3]]) {
      const [s, m] = await tidy(engine, () => {
        const x = toGpu(engine, data, shape);
        return [sum(x, axes), mean(x, axes, true)];
      });
      const count = axes.reduce((n, a) => n * shape[a], 1);
      const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const expected = new Float64Array(outShape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) {
        const c = [Math.floor(i / 70), Math.floor(i / 14) % 5, Math.floor(i / 2) % 7, i % 2];
        let o = 0;
        for (let d = 0; d < 4; d++) o = o * outShape[d] + (axes.includes(d) ? 0 : c[d]);
        expected[o] += data[i];
      }
      expectClose(await s.toArray(), expected, 1e-5, 1e-3, `sum ${axes}`);
      expectClose(await m.toArray(), Array.from(expected, (v) => v / count), 1e-5, 1e-3, `mean ${axes}`);
      expect(m.shape).toEqual(outShape);
      s.dispose();
      m.dispose();
    }
  });
  it('sum and mean gradients', async () => {
    await gradCheck(engine, (x) => sum(x, [1]), [{ data: randomArray(15, 8), shape: [3, 5] }]);
    await gradCheck(engine, (x) => mean(x, [0, 2]), [{ data: randomArray(30, 9), shape: [2, 3, 5] }]);
  });
  it('rejects an axis out of range', () => {
    tidy(engine, () => {
      expect(() => sum(toGpu(engine, randomArray(6, 1), [2, 3]), 2)).toThrow(/sum: axis 2 out of range for shape \[2, 3\]/);
    });
  });
});

describe('seeded random', () => {
  it('same seed gives the same numbers; normal and uniform have the right moments', async () => {
    const [a, b, c, u] = tidy(engine, () => [
      randn(engine, [4001], 0, 1, { seed: 42 }),
      randn(engine, [4001], 0, 1, { seed: 42 }),
      randn(engine, [4001], 0, 1, { seed: 43 }),
      rand(engine, [4001], -1, 3, { seed: 42 }),
    ]);
    const [va, vb, vc, vu] = await Promise.all([a.toArray(), b.toArray(), c.toArray(), u.toArray()]);
    expect(Array.from(va)).toEqual(Array.from(vb));
    expect(Array.from(va)).not.toEqual(Array.from(vc));
    const m = va.reduce((s, v) => s + v, 0) / va.length;
    const v = va.reduce((s, x) => s + (x - m) ** 2, 0) / va.length;
    expect(Math.abs(m)).toBeLessThan(0.06);
    expect(Math.abs(v - 1)).toBeLessThan(0.08);
    expect(Math.min(...vu)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...vu)).toBeLessThan(3);
    expect(Math.abs(vu.reduce((s, x) => s + x, 0) / vu.length - 1)).toBeLessThan(0.06);
    for (const t of [a, b, c, u]) t.dispose();
  });
});
