// Shared test utilities: one engine per test file, seeded host data, float64 comparisons, gradient checks.
import { expect } from 'vitest';
import { createNodeEngine } from '../src/node/gpu.js';
import type { Engine } from '../src/runtime/engine.js';
import { Tensor } from '../src/tensor/tensor.js';
import { tensor } from '../src/tensor/ops/create.js';
import { backward, tidy } from '../src/tensor/autograd.js';

let shared: Promise<Engine> | null = null;
export function getEngine(): Promise<Engine> {
  shared ??= createNodeEngine();
  return shared;
}

/** Deterministic host PRNG (mulberry32) for test inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi), as float64 rounded to float32 (so the CPU reference sees what the GPU sees). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
}

export function toGpu(engine: Engine, data: ArrayLike<number>, shape: number[], requiresGrad = false): Tensor {
  const t = tensor(engine, Float32Array.from(data), shape);
  t.requiresGrad = requiresGrad;
  return t;
}

/** Max |a-b| / (|b| + floor) over all elements; fails with the worst index when it exceeds tol. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4, floor = 1e-3, what = ''): number {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (Math.abs(expected[i]) + floor);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= tol)) {
    throw new Error(`${what}: max relative error ${worst.toExponential(3)} > ${tol} at index ${at} (got ${actual[at]}, want ${expected[at]})`);
  }
  return worst;
}

/**
 * Finite-difference gradient check. `f` maps the inputs to any tensor; the scalar checked is Σ f(x)·R for a
 * fixed random R. Compares autograd's gradient with central differences at up to `samples` coordinates of
 * each input. f32 on the GPU limits accuracy, so eps is large-ish and the tolerance relative to the gradient's scale.
 */
export async function gradCheck(
  engine: Engine,
  f: (...inputs: Tensor[]) => Tensor,
  inputs: { data: Float64Array; shape: number[] }[],
  { eps = 1e-2, tol = 2e-2, samples = 12, seed = 99 } = {},
): Promise<void> {
  const probeShape = await tidy(engine, () => {
    const out = f(...inputs.map((i) => toGpu(engine, i.data, i.shape)));
    return out.shape.slice();
  });
  const weights = randomArray(probeShape.reduce((a, b) => a * b, 1), seed);
  const objective = async (datas: Float64Array[]): Promise<number> => {
    const out = await tidy(engine, () => f(...datas.map((d, k) => toGpu(engine, d, inputs[k].shape))));
    const values = await out.toArray();
    out.dispose();
    let s = 0;
    for (let i = 0; i < values.length; i++) s += values[i] * weights[i];
    return s;
  };
  const leaves = inputs.map((i) => toGpu(engine, i.data, i.shape, true));
  tidy(engine, () => {
    const out = f(...leaves);
    backward(out, toGpu(engine, weights, out.shape.slice()));
  });
  const r = rng(seed + 1);
  for (let k = 0; k < inputs.length; k++) {
    const grad = leaves[k].grad;
    if (!grad) throw new Error(`gradCheck: input ${k} got no gradient`);
    const analytic = await grad.toArray();
    let scale = 0;
    for (const v of analytic) scale = Math.max(scale, Math.abs(v));
    const n = inputs[k].data.length;
    const picks = n <= samples ? [...Array(n).keys()] : Array.from({ length: samples }, () => Math.floor(r() * n));
    for (const i of picks) {
      const datas = inputs.map((inp) => Float64Array.from(inp.data));
      datas[k][i] = inputs[k].data[i] + eps;
      const plus = await objective(datas);
      datas[k][i] = inputs[k].data[i] - eps;
      const minus = await objective(datas);
      const numeric = (plus - minus) / (2 * eps);
      const err = Math.abs(numeric - analytic[i]) / (scale + 1e-3);
      if (!(err <= tol)) {
        throw new Error(`gradCheck: input ${k} index ${i}: autograd ${analytic[i]}, finite difference ${numeric}, error ${err.toExponential(3)} (relative to max |grad| ${scale.toExponential(3)}) > ${tol}`);
      }
    }
    grad.dispose();
    leaves[k].grad = null;
  }
  for (const l of leaves) l.dispose();
}
