import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { bceWithLogits } from '../src/tensor/ops/loss.js';
import { backward, tidy } from '../src/tensor/autograd.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** Mean BCE of sigmoid(x) against t in float64, and its gradient (σ(x) − t)/n. */
function bceRef(x: ArrayLike<number>, t: (i: number) => number): { loss: number; grad: Float64Array } {
  const n = x.length;
  let loss = 0;
  const grad = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    loss += Math.max(v, 0) - v * t(i) + Math.log1p(Math.exp(-Math.abs(v)));
    // σ(v) − t from s = e^−|v|/(1 + e^−|v|), so that it stays exact in float64 too when σ(v) ≈ t = 1
    const s = Math.exp(-Math.abs(v)) / (1 + Math.exp(-Math.abs(v)));
    grad[i] = (v >= 0 ? 1 - t(i) - s : s - t(i)) / n;
  }
  return { loss: loss / n, grad };
}

async function lossAndGrad(x: Float64Array, shape: number[], target: Float64Array | number): Promise<[number, Float32Array]> {
  const xt = toGpu(engine, x, shape, true);
  const loss = await tidy(engine, async () => {
    const l = bceWithLogits(xt, typeof target === 'number' ? target : toGpu(engine, target, shape));
    backward(l);
    return l.item();
  });
  const grad = await xt.grad!.toArray();
  xt.grad!.dispose();
  xt.dispose();
  return [loss, grad];
}

const shapes = [[1], [7], [128, 1], [3, 5], [3, 1, 4, 4]];

describe('bceWithLogits', () => {
  it('matches float64 with tensor targets (soft and hard labels)', async () => {
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randomArray(n, n, -6, 6);
      for (const t of [randomArray(n, n + 1, 0, 1), randomArray(n, n + 2).map((v) => (v > 0 ? 1 : 0))]) {
        const [loss, grad] = await lossAndGrad(x, shape, t);
        const ref = bceRef(x, (i) => t[i]);
        expectClose([loss], [ref.loss], 1e-5, 0, `loss ${shape}`);
        expectClose(grad, ref.grad, 2e-5, 1e-3 / n, `grad ${shape}`);
      }
    }
  });

  it('matches float64 with constant targets (label smoothing)', async () => {
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randomArray(n, 3 * n, -6, 6);
      for (const t of [0, 1, 0.9]) {
        const [loss, grad] = await lossAndGrad(x, shape, t);
        const ref = bceRef(x, () => Math.fround(t));
        expectClose([loss], [ref.loss], 1e-5, 0, `loss ${shape} t=${t}`);
        expectClose(grad, ref.grad, 2e-5, 1e-3 / n, `grad ${shape} t=${t}`);
      }
    }
  });

  it('is exact at extreme logits, on the right and the wrong side', async () => {
    const values = [50, -50, 20, -20, 0, 50, -50, 20, -20, 0];
    const targets = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
    const x = Float64Array.from(values);
    const [loss, grad] = await lossAndGrad(x, [10], Float64Array.from(targets));
    const ref = bceRef(x, (i) => targets[i]);
    expect(Number.isFinite(loss)).toBe(true);
    expectClose([loss], [ref.loss], 1e-6, 0, 'mixed extreme loss');
    expectClose(grad, ref.grad, 1e-6, 1e-6, 'mixed extreme grad');
    // one element each: wrong side costs |x|; right side costs log1p(e^-|x|) to full relative precision
    for (const [v, t] of [[50, 0], [-50, 1], [50, 1], [-50, 0], [20, 1], [-20, 0], [5, 1], [2.5, 0.9], [0, 1], [0, 0.9]]) {
      const [l, g] = await lossAndGrad(Float64Array.from([v]), [1], t);
      const r = bceRef([v], () => Math.fround(t));
      // f32 exp(−50) itself is only good to a few ulp times |x|
      expectClose([l], [r.loss], 1e-5, 0, `loss x=${v} t=${t}`);
      expectClose(g, r.grad, 1e-5, 1e-30, `grad x=${v} t=${t}`);
    }
  });

  it('gradients match finite differences (logits and a tensor target; constant target)', async () => {
    await gradCheck(engine, (x, t) => bceWithLogits(x, t), [
      { data: randomArray(13, 71, -3, 3), shape: [13, 1] },
      { data: randomArray(13, 72, 0, 1), shape: [13, 1] },
    ], { eps: 1e-2, tol: 2e-2 });
    await gradCheck(engine, (x) => bceWithLogits(x, 0.9), [{ data: randomArray(12, 73, -3, 3), shape: [3, 4] }]);
  });

  it('rejects a target of another shape', () => {
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(6, 1), [6, 1]);
      expect(() => bceWithLogits(x, toGpu(engine, randomArray(6, 2), [6]))).toThrow(/bceWithLogits: target shape \[6\] does not match logits \[6, 1\]/);
      expect(() => bceWithLogits(x, toGpu(engine, randomArray(12, 2), [6, 2]))).toThrow(/bceWithLogits: target shape \[6, 2\] does not match logits \[6, 1\]/);
    });
  });
});
