import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { batchNorm2d } from '../src/tensor/ops/batchnorm.js';
import { backward, tidy, noGrad } from '../src/tensor/autograd.js';
import { channelStats } from './reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

type Shape4 = [number, number, number, number];

function normalizeRef(x: Float64Array, shape: Shape4, mean: ArrayLike<number>, variance: ArrayLike<number>, gamma: Float64Array, beta: Float64Array, eps: number): Float64Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const y = new Float64Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const invstd = 1 / Math.sqrt(variance[ch] + eps);
      for (let k = 0; k < hw; k++) {
        const i = (b * c + ch) * hw + k;
        y[i] = (x[i] - mean[ch]) * invstd * gamma[ch] + beta[ch];
      }
    }
  }
  return y;
}

/** Training-mode backward: dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy. */
function backwardRef(x: Float64Array, dy: Float64Array, shape: Shape4, gamma: Float64Array, eps: number) {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const count = n * hw;
  const { mean, variance } = channelStats(x, shape);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const invstd = 1 / Math.sqrt(variance[ch] + eps);
    const at = (b: number, k: number) => (b * c + ch) * hw + k;
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < hw; k++) {
        dbeta[ch] += dy[at(b, k)];
        dgamma[ch] += dy[at(b, k)] * (x[at(b, k)] - mean[ch]) * invstd;
      }
    }
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < hw; k++) {
        const xhat = (x[at(b, k)] - mean[ch]) * invstd;
        dx[at(b, k)] = gamma[ch] * invstd * (dy[at(b, k)] - dbeta[ch] / count - xhat * dgamma[ch] / count);
      }
    }
  }
  return { dx, dgamma, dbeta };
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

// batch 1 and 3, C = 1, 3, 5, 7, 10; odd planes in tensors of odd size (scalar path), planes of 4k (vec4),
// odd planes in tensors of 4k (packed vectors, straddling planes), planes under 4, and planes longer than a
// workgroup, so every path of the elementwise kernels and every row layout of the reductions runs.
const shapes: Shape4[] = [
  [1, 3, 5, 7], [3, 5, 3, 3], [3, 1, 4, 4], [1, 10, 6, 2], [3, 7, 1, 1], [2, 10, 3, 3], [4, 5, 5, 5], [4, 3, 1, 3],
  [2, 3, 13, 11], [3, 4, 13, 11], [1, 2, 16, 20],
];

function channelParams(c: number, seed: number) {
  return {
    gamma: randomArray(c, seed, 0.5, 1.5),
    beta: randomArray(c, seed + 1, -0.5, 0.5),
    runMean: randomArray(c, seed + 2, -0.3, 0.3),
    runVar: randomArray(c, seed + 3, 0.5, 2),
  };
}

describe('batchNorm2d forward', () => {
  it('training normalises with batch statistics and updates the running stats once', async () => {
    for (const shape of shapes) {
      const c = shape[1];
      // a per-channel offset well away from zero, so the mean matters
      const x = randomArray(size(shape), size(shape), -1, 3);
      const p = channelParams(c, 11);
      const momentum = 0.1;
      const eps = 1e-5;
      const [y, rm, rv] = tidy(engine, () => {
        const rm = toGpu(engine, p.runMean, [c]);
        const rv = toGpu(engine, p.runVar, [c]);
        const y = batchNorm2d(toGpu(engine, x, shape), toGpu(engine, p.gamma, [c]), toGpu(engine, p.beta, [c]), rm, rv, { training: true, momentum, eps });
        return [y, rm, rv];
      });
      const { mean, variance } = channelStats(x, shape);
      const count = shape[0] * shape[2] * shape[3];
      // outputs are O(1): near-zero ones are compared on that scale
      expectClose(await y.toArray(), normalizeRef(x, shape, mean, variance, p.gamma, p.beta, eps), 1e-5, 0.1, `y ${shape}`);
      expectClose(await rm.toArray(), mean.map((m, i) => (1 - momentum) * p.runMean[i] + momentum * m), 2e-6, 1e-3, `running mean ${shape}`);
      expectClose(await rv.toArray(), variance.map((v, i) => (1 - momentum) * p.runVar[i] + momentum * v * count / (count - 1)), 2e-6, 1e-3, `running var ${shape}`);
      for (const t of [y, rm, rv]) t.dispose();
    }
  });

  it('stays accurate when the mean dwarfs the spread', async () => {
    for (const shape of [[3, 5, 3, 3], [2, 3, 4, 4]] as Shape4[]) {
      const c = shape[1];
      const x = randomArray(size(shape), 3, 49.9, 50.1);
      const p = channelParams(c, 15);
      const [y, rv] = tidy(engine, () => {
        const rv = toGpu(engine, p.runVar, [c]);
        return [batchNorm2d(toGpu(engine, x, shape), toGpu(engine, p.gamma, [c]), toGpu(engine, p.beta, [c]), toGpu(engine, p.runMean, [c]), rv, { training: true, momentum: 1 }), rv];
      });
      const { mean, variance } = channelStats(x, shape);
      const count = shape[0] * shape[2] * shape[3];
      // the variance keeps full precision; y is limited by the f32 mean (an ulp of 50 is ~1e-4 of the spread)
      expectClose(await rv.toArray(), variance.map((v) => (v * count) / (count - 1)), 2e-6, 0, `batch variance ${shape}`);
      expectClose(await y.toArray(), normalizeRef(x, shape, mean, variance, p.gamma, p.beta, 1e-5), 1e-3, 0.1, `y ${shape}`);
      y.dispose();
      rv.dispose();
    }
  });

  it('eval normalises with the running statistics and leaves them alone', async () => {
    for (const shape of shapes) {
      const c = shape[1];
      const x = randomArray(size(shape), size(shape) + 5, -1, 3);
      const p = channelParams(c, 21);
      const eps = 1e-3;
      const [y, rm, rv] = tidy(engine, () => {
        const rm = toGpu(engine, p.runMean, [c]);
        const rv = toGpu(engine, p.runVar, [c]);
        const y = batchNorm2d(toGpu(engine, x, shape), toGpu(engine, p.gamma, [c]), toGpu(engine, p.beta, [c]), rm, rv, { training: false, eps });
        return [y, rm, rv];
      });
      expectClose(await y.toArray(), normalizeRef(x, shape, p.runMean, p.runVar, p.gamma, p.beta, eps), 1e-5, 0.1, `eval y ${shape}`);
      expect(Array.from(await rm.toArray())).toEqual(Array.from(p.runMean));
      expect(Array.from(await rv.toArray())).toEqual(Array.from(p.runVar));
      for (const t of [y, rm, rv]) t.dispose();
    }
  });

  it('running stats follow the momentum average over several training calls', async () => {
    const shape: Shape4 = [3, 5, 3, 5];
    const c = shape[1];
    const momentum = 0.25;
    const p = channelParams(c, 31);
    const rm = toGpu(engine, p.runMean, [c]);
    const rv = toGpu(engine, p.runVar, [c]);
    const refMean = Array.from(p.runMean);
    const refVar = Array.from(p.runVar);
    const count = shape[0] * shape[2] * shape[3];
    for (let step = 0; step < 4; step++) {
      const x = randomArray(size(shape), 100 + step, -2 + step, 2 + 2 * step);
      noGrad(engine, () => tidy(engine, () => {
        batchNorm2d(toGpu(engine, x, shape), toGpu(engine, p.gamma, [c]), toGpu(engine, p.beta, [c]), rm, rv, { training: true, momentum });
      }));
      const { mean, variance } = channelStats(x, shape);
      for (let i = 0; i < c; i++) {
        refMean[i] = (1 - momentum) * refMean[i] + momentum * mean[i];
        refVar[i] = (1 - momentum) * refVar[i] + momentum * variance[i] * count / (count - 1);
      }
    }
    expectClose(await rm.toArray(), refMean, 1e-5, 1e-3, 'running mean after 4 calls');
    expectClose(await rv.toArray(), refVar, 1e-5, 1e-3, 'running var after 4 calls');
    rm.dispose();
    rv.dispose();
  });
});

describe('batchNorm2d backward', () => {
  it('training gradients match the reference formulas', async () => {
    for (const shape of [[1, 3, 5, 7], [3, 5, 4, 4], [3, 7, 3, 1], [2, 10, 9, 9], [4, 3, 1, 3], [3, 1, 5, 4]] as Shape4[]) {
      const c = shape[1];
      const x = randomArray(size(shape), 7 + size(shape), -1, 3);
      const dy = randomArray(size(shape), 8 + size(shape));
      const p = channelParams(c, 41);
      const xt = toGpu(engine, x, shape, true);
      const gt = toGpu(engine, p.gamma, [c], true);
      const bt = toGpu(engine, p.beta, [c], true);
      tidy(engine, () => {
        const y = batchNorm2d(xt, gt, bt, toGpu(engine, p.runMean, [c]), toGpu(engine, p.runVar, [c]), { training: true });
        backward(y, toGpu(engine, dy, shape));
      });
      const ref = backwardRef(x, dy, shape, p.gamma, 1e-5);
      // dx is a difference of terms of similar size, so compare relative to its overall scale
      const dxScale = Math.max(...ref.dx.map(Math.abs));
      expectClose(await xt.grad!.toArray(), ref.dx, 1e-4, dxScale, `dx ${shape}`);
      expectClose(await gt.grad!.toArray(), ref.dgamma, 1e-4, 1e-3, `dgamma ${shape}`);
      expectClose(await bt.grad!.toArray(), ref.dbeta, 1e-4, 1e-3, `dbeta ${shape}`);
      for (const t of [xt, gt, bt]) {
        t.grad!.dispose();
        t.dispose();
      }
    }
  });

  it('training gradients match finite differences (x, gamma, beta)', async () => {
    for (const shape of [[2, 3, 3, 3], [1, 2, 4, 2]] as Shape4[]) {
      const c = shape[1];
      const p = channelParams(c, 51);
      await gradCheck(engine, (x, g, b) => batchNorm2d(x, g, b, toGpu(engine, p.runMean, [c]), toGpu(engine, p.runVar, [c]), { training: true }), [
        { data: randomArray(size(shape), 52 + c, -1, 2), shape },
        { data: p.gamma, shape: [c] },
        { data: p.beta, shape: [c] },
      ], { eps: 1e-2, tol: 3e-2 });
    }
  });

  it('eval gradients match finite differences', async () => {
    const shape: Shape4 = [3, 2, 3, 1];
    const p = channelParams(2, 61);
    await gradCheck(engine, (x, g, b) => batchNorm2d(x, g, b, toGpu(engine, p.runMean, [2]), toGpu(engine, p.runVar, [2]), { training: false }), [
      { data: randomArray(size(shape), 62, -1, 2), shape },
      { data: p.gamma, shape: [2] },
      { data: p.beta, shape: [2] },
    ]);
  });
});

/**
 * float64 batchnorm with a per-image affine (gamma, beta rows [N, C]): y = x̂·γ[n, c] + β[n, c], and in training the
 * gradients dγ[n, c] = Σ_hw dy·x̂, dβ[n, c] = Σ_hw dy, dx = invstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ[n, c]
 * (eval: dx = invstd·dx̂).
 */
function rowsRef(x: Float64Array, dy: Float64Array, shape: Shape4, gamma: Float64Array, beta: Float64Array, training: boolean, running: { mean: Float64Array; variance: Float64Array }, eps: number) {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const count = n * hw;
  const stats = training ? channelStats(x, shape) : running;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(n * c);
  const dbeta = new Float64Array(n * c);
  for (let ch = 0; ch < c; ch++) {
    const invstd = 1 / Math.sqrt(stats.variance[ch] + eps);
    const at = (b: number, k: number) => (b * c + ch) * hw + k;
    const xhat = (b: number, k: number) => (x[at(b, k)] - stats.mean[ch]) * invstd;
    let s1 = 0;
    let s2 = 0;
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < hw; k++) {
        const r = b * c + ch;
        y[at(b, k)] = xhat(b, k) * gamma[r] + beta[r];
        dgamma[r] += dy[at(b, k)] * xhat(b, k);
        dbeta[r] += dy[at(b, k)];
        s1 += dy[at(b, k)] * gamma[r];
        s2 += dy[at(b, k)] * gamma[r] * xhat(b, k);
      }
    }
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < hw; k++) {
        const dxhat = dy[at(b, k)] * gamma[b * c + ch];
        dx[at(b, k)] = training ? invstd * (dxhat - s1 / count - xhat(b, k) * s2 / count) : invstd * dxhat;
      }
    }
  }
  return { y, dx, dgamma, dbeta };
}

describe('batchNorm2d with a per-image affine (gamma, beta [N, C])', () => {
  it.each([true, false])('training %s: y, dx and the row gradients match float64 on every kernel path', async (training) => {
    for (const shape of shapes) {
      const [n, c] = shape;
      const x = randomArray(size(shape), 71 + size(shape), -1, 3);
      const dy = randomArray(size(shape), 72 + size(shape));
      const gamma = randomArray(n * c, 73, -1, 2);
      const beta = randomArray(n * c, 74);
      const p = channelParams(c, 75);
      const eps = 1e-4;
      const xt = toGpu(engine, x, shape, true);
      const gt = toGpu(engine, gamma, [n, c], true);
      const bt = toGpu(engine, beta, [n, c], true);
      const y = tidy(engine, () => {
        const y = batchNorm2d(xt, gt, bt, toGpu(engine, p.runMean, [c]), toGpu(engine, p.runVar, [c]), { training, eps });
        backward(y, toGpu(engine, dy, shape));
        return y;
      });
      const ref = rowsRef(x, dy, shape, gamma, beta, training, { mean: p.runMean, variance: p.runVar }, eps);
      const scale = (a: Float64Array) => Math.max(1e-3, ...a.map(Math.abs));
      expectClose(await y.toArray(), ref.y, 1e-4, 0.1 * scale(ref.y), `y ${shape}`);
      expectClose(await xt.grad!.toArray(), ref.dx, 1e-4, 1e-2 * scale(ref.dx), `dx ${shape}`);
      expectClose(await gt.grad!.toArray(), ref.dgamma, 1e-4, 1e-3 * scale(ref.dgamma), `dgamma ${shape}`);
      expectClose(await bt.grad!.toArray(), ref.dbeta, 1e-4, 1e-3 * scale(ref.dbeta), `dbeta ${shape}`);
      for (const t of [xt, gt, bt]) {
        t.grad!.dispose();
        t.dispose();
      }
      y.dispose();
    }
  });

  it('gradients match finite differences (x, gamma rows, beta rows)', async () => {
    for (const shape of [[2, 3, 3, 3], [3, 2, 2, 2], [1, 2, 1, 5]] as Shape4[]) {
      const [n, c] = shape;
      const p = channelParams(c, 81);
      await gradCheck(engine, (x, g, b) => batchNorm2d(x, g, b, toGpu(engine, p.runMean, [c]), toGpu(engine, p.runVar, [c]), { training: true }), [
        { data: randomArray(size(shape), 82 + c, -1, 2), shape },
        { data: randomArray(n * c, 83, 0.5, 1.5), shape: [n, c] },
        { data: randomArray(n * c, 84), shape: [n, c] },
      ], { eps: 1e-2, tol: 3e-2 });
    }
  });
});

describe('batchNorm2d errors', () => {
  it('rejects bad ranks and parameter lengths', () => {
    tidy(engine, () => {
      const p = (n: number) => toGpu(engine, randomArray(n, n, 0.5, 1), [n]);
      const x = toGpu(engine, randomArray(2 * 3 * 4 * 5, 1), [2, 3, 4, 5]);
      const opts = { training: true };
      expect(() => batchNorm2d(toGpu(engine, randomArray(12, 1), [3, 4]), p(3), p(3), p(3), p(3), opts)).toThrow(/batchNorm2d: input must be NCHW \(rank 4\), got \[3, 4\]/);
      expect(() => batchNorm2d(x, p(4), p(3), p(3), p(3), opts)).toThrow(/batchNorm2d: gamma has shape \[4\], expected \[3\] for input \[2, 3, 4, 5\]/);
      expect(() => batchNorm2d(x, p(3), p(2), p(3), p(3), opts)).toThrow(/batchNorm2d: beta has shape \[2\]/);
      const rows = (r: number, c: number) => toGpu(engine, randomArray(r * c, 3), [r, c]);
      expect(() => batchNorm2d(x, rows(2, 3), rows(3, 3), p(3), p(3), opts)).toThrow(/batchNorm2d: beta has shape \[3, 3\], expected \[2, 3\]/);
      expect(() => batchNorm2d(x, rows(2, 3), p(3), p(3), p(3), opts)).toThrow(/batchNorm2d: beta has shape \[3\], expected \[2, 3\]/);
      expect(() => batchNorm2d(x, rows(2, 4), rows(2, 4), p(3), p(3), opts)).toThrow(/batchNorm2d: gamma has shape \[2, 4\], expected \[2, 3\]/);
      expect(() => batchNorm2d(x, p(3), p(3), p(3), p(5), opts)).toThrow(/batchNorm2d: runningVar has shape \[5\]/);
      expect(() => batchNorm2d(toGpu(engine, [1, 2, 3], [1, 3, 1, 1]), p(3), p(3), p(3), p(3), opts)).toThrow(/batchNorm2d: training needs more than one value per channel, got input \[1, 3, 1, 1\]/);
    });
  });
});
