// Conditional batchnorm (nn/conditional-batchnorm.ts): the forward in training and eval against float64, on
// awkward sizes and batch 1; gradients of x, γ and β against finite differences; the GAN pattern (two forwards,
// then one backward) on the module; bad shapes refused.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { ConditionalBatchNorm2d, conditionalBatchNorm2d } from '../src/nn/conditional-batchnorm.js';
import { oneHot, oneHotRows } from '../src/nn/embedding.js';
import { backward, tidy } from '../src/tensor/autograd.js';
import { sum } from '../src/tensor/ops/reduce.js';
import { mul } from '../src/tensor/ops/elementwise.js';
import { tensor, copyInto } from '../src/tensor/ops/create.js';
import { channelStats } from './reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

type Shape4 = [number, number, number, number];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * float64 y = (x − mean)/√(var + eps)·γ[label] + β[label] per channel; mean and biased var from the batch (train)
 * or the given running ones (eval). Also returns the batch's mean and unbiased var (what the running ones move toward).
 */
function reference(x: Float64Array, [n, c, h, w]: Shape4, labels: number[], gamma: Float64Array, beta: Float64Array, running: { mean: Float64Array; variance: Float64Array } | null, eps = 1e-5) {
  const hw = h * w;
  const { mean, variance } = channelStats(x, [n, c, h, w]);
  const unbiased = variance.map((v) => (n * hw > 1 ? (v * n * hw) / (n * hw - 1) : 0));
  const useMean = running ? running.mean : mean;
  const useVar = running ? running.variance : variance;
  const y = new Float64Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const g = gamma[labels[b] * c + ch];
      const bt = beta[labels[b] * c + ch];
      const invstd = 1 / Math.sqrt(useVar[ch] + eps);
      for (let k = 0; k < hw; k++) {
        const i = (b * c + ch) * hw + k;
        y[i] = (x[i] - useMean[ch]) * invstd * g + bt;
      }
    }
  }
  return { y, mean, unbiased };
}

const ones = (c: number) => toGpu(engine, new Float64Array(c).fill(1), [c]);
const zeros = (c: number) => toGpu(engine, new Float64Array(c), [c]);

describe('conditionalBatchNorm2d against float64', () => {
  const cases: { shape: Shape4; classes: number; labels: number[] }[] = [
    { shape: [3, 5, 3, 2], classes: 4, labels: [3, 0, 3] },
    { shape: [5, 2, 1, 7], classes: 10, labels: [9, 1, 1, 4, 0] },
    { shape: [1, 3, 2, 3], classes: 2, labels: [1] },
  ];

  it.each(cases)('training $shape, $classes classes: y and the running statistics', async ({ shape, classes, labels }) => {
    const c = shape[1];
    const x = randomArray(size(shape), shape[0] + 7 * c, -1, 3);
    const gamma = randomArray(classes * c, 11, 0.5, 1.5);
    const beta = randomArray(classes * c, 12);
    const runMean = randomArray(c, 13);
    const runVar = randomArray(c, 14, 0.5, 2);
    const rm = toGpu(engine, runMean, [c]);
    const rv = toGpu(engine, runVar, [c]);
    const y = await tidy(engine, () => conditionalBatchNorm2d(toGpu(engine, x, shape), oneHot(engine, labels, classes),
      toGpu(engine, gamma, [classes, c]), toGpu(engine, beta, [classes, c]), rm, rv, { training: true, momentum: 0.3 })).toArray();
    const ref = reference(x, shape, labels, gamma, beta, null);
    expectClose(y, ref.y, 1e-4, 1e-4, `y ${shape}`);
    expectClose(await rm.toArray(), runMean.map((m, i) => 0.7 * m + 0.3 * ref.mean[i]), 1e-5, 1e-5, 'running mean');
    expectClose(await rv.toArray(), runVar.map((v, i) => 0.7 * v + 0.3 * ref.unbiased[i]), 1e-5, 1e-4, 'running var');
    rm.dispose();
    rv.dispose();
  });

  it.each(cases)('eval $shape, $classes classes: the running statistics, each image its class\'s γ and β', async ({ shape, classes, labels }) => {
    const c = shape[1];
    const x = randomArray(size(shape), 21 + c, -2, 2);
    const gamma = randomArray(classes * c, 22, -1, 2);
    const beta = randomArray(classes * c, 23);
    const running = { mean: randomArray(c, 24), variance: randomArray(c, 25, 0.2, 3) };
    const y = await tidy(engine, () => conditionalBatchNorm2d(toGpu(engine, x, shape), oneHot(engine, labels, classes),
      toGpu(engine, gamma, [classes, c]), toGpu(engine, beta, [classes, c]), toGpu(engine, running.mean, [c]), toGpu(engine, running.variance, [c]), { training: false })).toArray();
    expectClose(y, reference(x, shape, labels, gamma, beta, running).y, 1e-4, 1e-4, `y ${shape}`);
  });

  it('gradients of x, γ and β match finite differences, in training and in eval', async () => {
    for (const [shape, labels, training] of [[[3, 2, 2, 3], [1, 0, 1], true], [[2, 3, 3, 1], [2, 2], true], [[1, 2, 2, 2], [0], false]] as [Shape4, number[], boolean][]) {
      const c = shape[1];
      const classes = 3;
      const rows = Float64Array.from(oneHotRows(labels, classes));
      await gradCheck(engine, (x, g, b) => conditionalBatchNorm2d(x, toGpu(engine, rows, [shape[0], classes]), g, b,
        toGpu(engine, randomArray(c, 31), [c]), toGpu(engine, randomArray(c, 32, 0.5, 2), [c]), { training }), [
        { data: randomArray(size(shape), 33 + c, -1, 2), shape },
        { data: randomArray(classes * c, 34, 0.5, 1.5), shape: [classes, c] },
        { data: randomArray(classes * c, 35), shape: [classes, c] },
      ], { eps: 1e-2, tol: 3e-2 });
    }
  });

  it('refuses one-hot rows or γ, β of the wrong shape', () => {
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(2 * 3 * 4, 1), [2, 3, 2, 2]);
      const p = (rows: number, cols: number) => toGpu(engine, randomArray(rows * cols, 2), [rows, cols]);
      const call = (rows: ReturnType<typeof oneHot>, g = p(4, 3), b = p(4, 3)) => conditionalBatchNorm2d(x, rows, g, b, zeros(3), ones(3), { training: true });
      expect(() => call(oneHot(engine, [1, 2, 3], 4))).toThrow(/conditionalBatchNorm2d: expects one-hot rows \[2, 4\] for input \[2, 3, 2, 2\], got \[3, 4\]/);
      expect(() => call(oneHot(engine, [1, 2], 5))).toThrow(/expects one-hot rows \[2, 4\].*got \[2, 5\]/);
      expect(() => call(oneHot(engine, [1, 2], 4), p(4, 2))).toThrow(/conditionalBatchNorm2d: gamma has shape \[4, 2\], expected \[4, 3\]/);
      expect(() => call(oneHot(engine, [1, 2], 4), p(4, 3), p(3, 3))).toThrow(/conditionalBatchNorm2d: beta has shape \[3, 3\], expected \[4, 3\]/);
    });
  });
});

describe('ConditionalBatchNorm2d, the module', () => {
  it('holds γ, β [classes, C] and running statistics [C] under PyTorch-style names; forward without classes throws', () => {
    const bn = new ConditionalBatchNorm2d(engine, 6, 4);
    expect([...bn.stateDict()].map(([n, t]) => [n, t.shape])).toEqual([['weight', [4, 6]], ['bias', [4, 6]], ['running_mean', [6]], ['running_var', [6]]]);
    expect(bn.parameterCount()).toBe(48);
    expect(() => bn.forward(toGpu(engine, randomArray(12, 1), [2, 6, 1, 1]))).toThrow(/needs the class of each image/);
    bn.dispose();
  });

  it('the GAN pattern: two forwards in training, then backward of the first, equal one forward and its backward', async () => {
    const shape: Shape4 = [4, 3, 2, 3];
    const classes = 5;
    const x = [toGpu(engine, randomArray(size(shape), 41, -1, 2), shape), toGpu(engine, randomArray(size(shape), 42, -3, 1), shape)];
    const rows = [oneHot(engine, [4, 0, 4, 2], classes), oneHot(engine, [1, 1, 3, 0], classes)];
    const weights = toGpu(engine, randomArray(size(shape), 43), shape);
    const bn = new ConditionalBatchNorm2d(engine, 3, classes);
    const gamma = randomArray(classes * 3, 44, 0.5, 1.5);
    const beta = randomArray(classes * 3, 45);
    const reset = () => tidy(engine, () => {
      copyInto(bn.weight, tensor(engine, gamma, [classes, 3]));
      copyInto(bn.bias, tensor(engine, beta, [classes, 3]));
    });
    const grads = async () => {
      const out = await Promise.all([bn.weight, bn.bias].map((t) => t.grad!.toArray()));
      for (const t of [bn.weight, bn.bias]) {
        t.grad!.dispose();
        t.grad = null;
      }
      return out;
    };
    reset();
    tidy(engine, () => backward(sum(mul(bn.forwardWithClasses(x[0], rows[0]), weights))));
    const alone = await grads();
    reset();
    tidy(engine, () => {
      const first = bn.forwardWithClasses(x[0], rows[0]);
      bn.forwardWithClasses(x[1], rows[1]);
      backward(sum(mul(first, weights)));
    });
    const afterTwo = await grads();
    expectClose(afterTwo[0], alone[0], 1e-6, 1e-6, 'dγ');
    expectClose(afterTwo[1], alone[1], 1e-6, 1e-6, 'dβ');
    // rows of classes no image asked for get no gradient (class 1 and 3 only in the second batch)
    for (const c of [1, 3]) expect(afterTwo[0].slice(c * 3, c * 3 + 3).every((v) => v === 0), `class ${c}`).toBe(true);
    for (const t of [...x, ...rows, weights]) t.dispose();
    bn.dispose();
  });
});
