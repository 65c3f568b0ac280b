import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { softmaxCrossEntropy } from '../src/tensor/ops/loss.js';
import { backward, tidy } from '../src/tensor/autograd.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** Mean over rows of Σ_c t_c·(logΣe^x − x_c) in float64, and its gradient (Σt·softmax − t)/rows. */
function reference(x: ArrayLike<number>, t: ArrayLike<number>, rows: number, classes: number): { loss: number; grad: Float64Array } {
  let loss = 0;
  const grad = new Float64Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: classes }, (_, c) => x[r * classes + c]);
    const m = Math.max(...row);
    const total = row.reduce((s, v) => s + Math.exp(v - m), 0);
    const lse = m + Math.log(total);
    let mass = 0;
    for (let c = 0; c < classes; c++) mass += t[r * classes + c];
    for (let c = 0; c < classes; c++) {
      const i = r * classes + c;
      loss += t[i] * (lse - x[i]);
      grad[i] = (mass * Math.exp(x[i] - lse) - t[i]) / rows;
    }
  }
  return { loss: loss / rows, grad };
}

function oneHot(rows: number, classes: number, seed: number): Float64Array {
  const t = new Float64Array(rows * classes);
  const pick = randomArray(rows, seed, 0, classes);
  for (let r = 0; r < rows; r++) t[r * classes + Math.floor(pick[r])] = 1;
  return t;
}

/** Rows of random positive weights normalised to sum to 1 (soft targets). */
function soft(rows: number, classes: number, seed: number): Float64Array {
  const t = randomArray(rows * classes, seed, 0.01, 1);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < classes; c++) s += t[r * classes + c];
    for (let c = 0; c < classes; c++) t[r * classes + c] = Math.fround(t[r * classes + c] / s);
  }
  return t;
}

async function lossAndGrad(x: Float64Array, t: Float64Array, rows: number, classes: number): Promise<[number, Float32Array]> {
  const xt = toGpu(engine, x, [rows, classes], true);
  const loss = await tidy(engine, async () => {
    const l = softmaxCrossEntropy(xt, toGpu(engine, t, [rows, classes]));
    backward(l);
    return l.item();
  });
  const grad = await xt.grad!.toArray();
  xt.grad!.dispose();
  xt.dispose();
  return [loss, grad];
}

describe('softmaxCrossEntropy', () => {
  it('matches float64 for one-hot and soft targets on awkward sizes', async () => {
    for (const [rows, classes] of [[1, 1], [1, 10], [3, 7], [128, 10], [300, 3], [5, 33]]) {
      const x = randomArray(rows * classes, rows + classes, -8, 8);
      for (const t of [oneHot(rows, classes, rows * classes), soft(rows, classes, rows * classes + 1)]) {
        const [loss, grad] = await lossAndGrad(x, t, rows, classes);
        const ref = reference(x, t, rows, classes);
        expectClose([loss], [ref.loss], 1e-5, 1e-6, `loss ${rows}×${classes}`);
        // llvmpipe's exp is good to a few 1e-6 relative, and softmax − t cancels where softmax ≈ t = 1: compare
        // with a floor of 1% of the largest possible gradient, 1/rows
        expectClose(grad, ref.grad, 5e-5, 1e-2 / rows, `grad ${rows}×${classes}`);
      }
    }
  });

  it('stays finite and exact at extreme logits', async () => {
    const x = Float64Array.from([1000, -1000, 0, -500, 500, 499, 90, 89, -200]);
    const t = Float64Array.from([0, 1, 0, 1, 0, 0, 0, 1, 0]);
    const [loss, grad] = await lossAndGrad(x, t, 3, 3);
    const ref = reference(x, t, 3, 3);
    expect(Number.isFinite(loss)).toBe(true);
    expectClose([loss], [ref.loss], 1e-6, 0, 'extreme loss');
    expectClose(grad, ref.grad, 1e-6, 1e-6, 'extreme grad');
  });

  it('gradient matches finite differences', async () => {
    const t = soft(6, 5, 3);
    await gradCheck(engine, (x) => softmaxCrossEntropy(x, toGpu(engine, t, [6, 5])), [{ data: randomArray(30, 4, -3, 3), shape: [6, 5] }]);
    const h = oneHot(4, 10, 5);
    await gradCheck(engine, (x) => softmaxCrossEntropy(x, toGpu(engine, h, [4, 10])), [{ data: randomArray(40, 6, -3, 3), shape: [4, 10] }]);
  });

  it('rejects mismatched shapes', () => {
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(6, 1), [2, 3]);
      expect(() => softmaxCrossEntropy(x, toGpu(engine, randomArray(6, 2), [3, 2]))).toThrow(/targets shape \[3, 2\] does not match logits \[2, 3\]/);
      expect(() => softmaxCrossEntropy(toGpu(engine, randomArray(6, 1), [6]), x)).toThrow(/logits must be a non-empty \[rows, classes\] matrix, got \[6\]/);
    });
  });
});
