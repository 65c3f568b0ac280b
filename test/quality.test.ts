// The float64 quality measures against closed forms, and the GPU neighbour search against the exact one.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { Tensor } from '../src/tensor/tensor.js';
import { getEngine, randomArray, rng, toGpu, expectClose } from './helpers.js';
import {
  symmetricEigen, sqrtPsd, traceSqrtProduct, gaussianStats, frechetDistance, fid, precisionRecall, exactNeighbours, manifoldMembership, meanByClass, predictedClasses,
  inceptionScore, classHistogram, klFromUniform, summarizeDistances, type GaussianStats,
} from '../src/gan/quality.js';
import { gpuNeighbourSearch } from '../src/gan/nearest.js';
import { rowTopKKernel, NO_INDEX } from '../src/kernels/row-topk.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = randomArray(n * n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = r[i * n + j] + r[j * n + i];
  return a;
}

/** B·Bᵀ/n for a random B: symmetric positive (semi)definite. */
function randomPsd(n: number, seed: number, rank = n): Float64Array {
  const b = randomArray(n * rank, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < rank; k++) a[i * n + j] += (b[i * rank + k] * b[j * rank + k]) / rank;
  return a;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

/** Standard normal samples (Box–Muller) from a seeded stream. */
function gaussians(count: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** count samples of N(mean, diag(std²)) rotated by the orthogonal matrix q (dim×dim). */
function gaussianSample(count: number, mean: number[], std: number[], q: Float64Array, seed: number): Float32Array {
  const d = mean.length;
  const z = gaussians(count * d, seed);
  const out = new Float32Array(count * d);
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += q[a * d + b] * (mean[b] + std[b] * z[i * d + b]);
      out[i * d + a] = s;
    }
  }
  return out;
}

describe('symmetricEigen', () => {
  it('decomposes random symmetric matrices: A·v = λ·v, VᵀV = I, V·diag(λ)·Vᵀ = A', () => {
    for (const n of [1, 2, 3, 7, 24, 60]) {
      const a = randomSymmetric(n, n);
      const { values, vectors } = symmetricEigen(a, n);
      for (let j = 1; j < n; j++) expect(values[j]).toBeLessThanOrEqual(values[j - 1]);
      const av = matmul(a, vectors, n);
      const vl = vectors.map((v, i) => v * values[i % n]);
      expectClose(av, vl, 1e-10, 1, `A·V = V·Λ, n = ${n}`);
      const vtv = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) vtv[i * n + j] += vectors[k * n + i] * vectors[k * n + j];
      expectClose(vtv, Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), 1e-12, 1, `VᵀV = I, n = ${n}`);
      const back = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) back[i * n + j] += vectors[i * n + k] * values[k] * vectors[j * n + k];
      expectClose(back, a, 1e-12, 1, `reconstruction, n = ${n}`);
    }
  });

  it('reproduces known decompositions', () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    expectClose(values, [3, 1], 1e-15, 1, 'eigenvalues of [[2, 1], [1, 2]]');
    const s = Math.SQRT1_2;
    // columns (1, 1)/√2 and (1, −1)/√2, each up to sign
    expectClose([Math.abs(vectors[0]), Math.abs(vectors[2]), vectors[0] * vectors[2]], [s, s, 0.5], 1e-15, 1, 'first eigenvector');
    expectClose([vectors[1] * vectors[3]], [-0.5], 1e-15, 1, 'second eigenvector');
    // a diagonal matrix is its own decomposition; a repeated eigenvalue still gives an orthonormal basis
    expectClose(symmetricEigen([1, 0, 0, 0, 5, 0, 0, 0, -2], 3).values, [5, 1, -2], 0, 1, 'diagonal');
    expectClose(symmetricEigen([4, 0, 0, 0, 4, 0, 0, 0, 4], 3).values, [4, 4, 4], 0, 1, 'repeated');
    // 1-2-1 tridiagonal of size n: λ_k = 2 − 2cos(kπ/(n + 1))
    const n = 9;
    const t = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      t[i * n + i] = 2;
      if (i + 1 < n) t[i * n + i + 1] = t[(i + 1) * n + i] = -1;
    }
    const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((n - k) * Math.PI) / (n + 1)));
    expectClose(symmetricEigen(t, n).values, want, 1e-13, 1, 'tridiagonal');
  });

  it('sqrtPsd squares back, also for a singular matrix', () => {
    for (const [n, rank] of [[5, 5], [20, 20], [12, 4]]) {
      const a = randomPsd(n, 100 + n, rank);
      const r = sqrtPsd(a, n);
      expectClose(matmul(r, r, n), a, 1e-10, 1, `√A·√A = A, n = ${n}, rank ${rank}`);
    }
  });
});

describe('FID', () => {
  it('Tr((Σ₁Σ₂)^½) matches the 2×2 closed form √(tr M + 2√det M) for non-commuting Σ', () => {
    const s1 = [2, 0.7, 0.7, 1];
    const s2 = [1, -0.4, -0.4, 3];
    const m = matmul(s1, s2, 2);
    const want = Math.sqrt(m[0] + m[3] + 2 * Math.sqrt(m[0] * m[3] - m[1] * m[2]));
    expectClose([traceSqrtProduct(s1, s2, 2)], [want], 1e-13, 0, 'trace');
  });

  it('of exact Gaussian statistics matches the closed form for commuting covariances', () => {
    // Σ₁ = Q·diag(a²)·Qᵀ, Σ₂ = Q·diag(b²)·Qᵀ: FID = ‖μ₁ − μ₂‖² + Σ (a − b)²
    const d = 6;
    const q = symmetricEigen(randomSymmetric(d, 5), d).vectors;
    const a = [1, 2, 0.5, 3, 0.1, 1];
    const b = [2, 1, 0.5, 1, 0.3, 0];
    const cov = (s: number[]) => {
      const c = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) c[i * d + j] += q[i * d + k] * s[k] ** 2 * q[j * d + k];
      return c;
    };
    const mean1 = Float64Array.from(randomArray(d, 6));
    const mean2 = Float64Array.from(randomArray(d, 7));
    const stats = (mean: Float64Array, c: Float64Array): GaussianStats => ({ dim: d, count: 1000, mean, cov: c });
    let want = 0;
    for (let i = 0; i < d; i++) want += (mean1[i] - mean2[i]) ** 2 + (a[i] - b[i]) ** 2;
    // Σ₂ is singular (b = 0, a dead feature): √ of an eigenvalue that is 0 up to rounding (~1e-15) is ~1e-8
    expectClose([frechetDistance(stats(mean1, cov(a)), stats(mean2, cov(b)))], [want], 1e-8, 0, 'FID');
  });

  it('of a set with itself is 0', () => {
    const features = Float32Array.from(randomArray(300 * 16, 8, 0, 3));
    expect(fid(features, 300, features, 300, 16)).toBeLessThan(1e-9);
  });

  it('of two Gaussian samples matches the closed form', () => {
    const d = 4;
    const q = symmetricEigen(randomSymmetric(d, 9), d).vectors;
    const [m1, s1, m2, s2] = [[0, 1, 0, -1], [1, 2, 0.5, 1], [1, 1, 0.5, -1], [2, 1, 0.5, 1.5]];
    const want = m1.reduce((s, v, i) => s + (v - m2[i]) ** 2 + (s1[i] - s2[i]) ** 2, 0); // 3.5
    const count = 40000;
    const got = fid(gaussianSample(count, m1, s1, q, 10), count, gaussianSample(count, m2, s2, q, 11), count, d);
    // sampling error of the means and variances at this count is about 1%
    expectClose([got], [want], 0.03, 0, 'sampled FID');
  });

  it('gaussianStats gives the unbiased covariance', () => {
    const { mean, cov } = gaussianStats([1, 2, 3, 4, 5, 9], 3, 2);
    expectClose(mean, [3, 5], 1e-15, 1, 'mean');
    expectClose(cov, [4, 7, 7, 13], 1e-15, 1, 'covariance');
  });
});

describe('precision and recall', () => {
  it('are 1 for identical sets and 0 for far-apart ones', async () => {
    const a = Float32Array.from(randomArray(50 * 8, 12));
    expect(await precisionRecall(a, a, 8)).toEqual({ precision: 1, recall: 1 });
    const far = a.map((v) => v + 100);
    expect(await precisionRecall(a, far, 8)).toEqual({ precision: 0, recall: 0 });
  });

  it('flag each sample, and break down by class: a generator right on one class and lost on the other', async () => {
    const real = Float32Array.from(randomArray(60 * 4, 14));
    // rows 0–9 copy real rows (inside), rows 10–19 are far away (outside)
    const fake = new Float32Array(20 * 4);
    fake.set(real.subarray(0, 40));
    fake.set(real.subarray(40, 80).map((v) => v + 50), 40);
    const { generatedInReal, realInGenerated } = await manifoldMembership(real, fake, 4);
    expect(Array.from(generatedInReal)).toEqual([...Array(20)].map((_, i) => (i < 10 ? 1 : 0)));
    expect(realInGenerated.slice(0, 10).every((f) => f === 1)).toBe(true);
    const { precision, recall } = await precisionRecall(real, fake, 4);
    expect(precision).toBe(0.5);
    expect(recall).toBe(realInGenerated.reduce((a, b) => a + b, 0) / 60);
    const labels = Uint8Array.from({ length: 20 }, (_, i) => (i < 10 ? 2 : i % 2));
    expect(meanByClass(generatedInReal, labels, 4)).toEqual([0, 0, 1, NaN]);
  });

  it('predicted classes are each row\'s largest logit', () => {
    expect(Array.from(predictedClasses([0.1, 0.9, -1, 5, 2, 3, 0, 0, 0.5], 3))).toEqual([1, 0, 2]);
  });

  it('a collapsed generator has high precision and low recall', async () => {
    const real = Float32Array.from(randomArray(200 * 4, 13));
    const collapsed = real.slice(0, 20 * 4).map((v) => v * 0.5);
    const { precision, recall } = await precisionRecall(real, collapsed, 4);
    expect(precision).toBeGreaterThan(0.9);
    expect(recall).toBeLessThan(0.3);
  });
});

describe('GPU neighbour search', () => {
  /** The k smallest rowTerm_i + colTerm_j − 2·dots_ij per row in float64, skipping j = i when asked. */
  function topKRef(dots: Float64Array, rt: Float64Array, ct: Float64Array, rows: number, cols: number, k: number, excludeSelf: boolean) {
    const values: number[] = [];
    const indices: number[] = [];
    for (let i = 0; i < rows; i++) {
      const d = [...Array(cols).keys()].filter((j) => !(excludeSelf && j === i)).map((j) => [rt[i] + ct[j] - 2 * dots[i * cols + j], j]).sort((x, y) => x[0] - y[0]);
      for (let s = 0; s < k; s++) {
        values.push(d[s]?.[0] ?? 3.4028234e38);
        indices.push(d[s]?.[1] ?? NO_INDEX);
      }
    }
    return { values, indices };
  }

  it('row top-k kernel matches float64 over merged blocks of awkward sizes', async () => {
    // k as the searches use it (k + 3 shortlisted): each k is a pipeline to compile
    for (const [rows, cols, k, blockCols, excludeSelf] of [[1, 1, 4, 1, false], [5, 3, 6, 2, false], [37, 53, 4, 20, true], [70, 130, 7, 64, false], [9, 9, 6, 9, true]] as const) {
      const dots = randomArray(rows * cols, rows + cols);
      const rt = randomArray(rows, rows, 0, 4);
      const ct = randomArray(cols, cols + 1, 0, 4);
      const ref = topKRef(dots, rt, ct, rows, cols, k, excludeSelf);
      const best = Tensor.empty(engine, [rows, k]);
      const index = Tensor.empty(engine, [rows, k]);
      const rowTerm = toGpu(engine, rt, [rows]);
      for (let from = 0; from < cols; from += blockCols) {
        const n = Math.min(blockCols, cols - from);
        const block = new Float64Array(rows * n);
        for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) block[i * n + j] = dots[i * cols + from + j];
        const d = toGpu(engine, block, [rows, n]);
        const c = toGpu(engine, ct.subarray(from, from + n), [n]);
        rowTopKKernel(d, rowTerm, c, best, index, { colOffset: from, first: from === 0, excludeSelf });
        d.dispose();
        c.dispose();
      }
      const what = `${rows}×${cols} k ${k} blocks of ${blockCols}${excludeSelf ? ' excluding self' : ''}`;
      expect(Array.from(new Uint32Array(await engine.read(index.buffer, rows * k * 4))), what).toEqual(ref.indices);
      expectClose(await best.toArray(), ref.values, 1e-6, 1, what);
      for (const t of [best, index, rowTerm]) t.dispose();
    }
  });

  it('finds the same neighbours as the exact search, with offsets and self-exclusion', async () => {
    // Sizes that keep to one matmul variant (llvmpipe compiles each for seconds): dim and blocks multiples of 4.
    const dim = 8;
    const queries = Float32Array.from(randomArray(45 * dim, 20));
    const base = Float32Array.from(randomArray(64 * dim, 21));
    const offset = Float64Array.from(randomArray(64, 22, 0, 0.5));
    const gpu = gpuNeighbourSearch(engine, { queryBlock: 16, baseBlock: 16 });
    for (const query of [
      { queries, base, dim, k: 3 },
      { queries: base, base, dim, k: 4, excludeSelf: true },
      { queries, base, dim, k: 1, baseOffset: offset },
      { queries: queries.subarray(0, 3 * dim), base: base.subarray(0, 4 * dim), dim, k: 6 },
    ]) {
      const want = await exactNeighbours(query);
      const got = await gpu(query);
      expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
      expect(Array.from(got.scores)).toEqual(Array.from(want.scores));
    }
  });

  it('gives the exact precision and recall', async () => {
    const real = Float32Array.from(randomArray(120 * 8, 30));
    const fake = Float32Array.from(randomArray(90 * 8, 31, -0.8, 1.2));
    const gpu = gpuNeighbourSearch(engine, { queryBlock: 32, baseBlock: 30 });
    expect(await precisionRecall(real, fake, 8, { search: gpu })).toEqual(await precisionRecall(real, fake, 8));
  });
});

describe('class measures', () => {
  const logits = (classes: number[], count = 10) => {
    const out = new Float32Array(classes.length * count);
    classes.forEach((c, i) => (out[i * count + c] = 30));
    return out;
  };

  it('Inception Score is the number of equally used confident classes', () => {
    expectClose([inceptionScore(logits([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 10)], [10], 1e-9, 0, 'ten classes');
    expectClose([inceptionScore(logits([3, 3, 3, 3]), 10)], [1], 1e-9, 0, 'one class');
    expectClose([inceptionScore(logits([1, 2, 1, 2]), 10)], [2], 1e-9, 0, 'two classes');
    expectClose([inceptionScore(new Float32Array(40), 10)], [1], 1e-12, 0, 'uncertain');
  });

  it('class histogram and its KL from uniform', () => {
    expect(classHistogram(logits([9, 9, 0, 3]), 10)).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 0, 2]);
    expect(klFromUniform([5, 5, 5, 5])).toBe(0);
    expectClose([klFromUniform([0, 0, 7, 0])], [Math.log(4)], 1e-15, 0, 'one class');
    expectClose([klFromUniform([1, 3])], [0.25 * Math.log(0.5) + 0.75 * Math.log(1.5)], 1e-15, 0, 'skewed');
  });

  it('summarizeDistances', () => {
    const s = summarizeDistances([5, 0.5, 3, 1, 2], 1);
    expect(s).toMatchObject({ count: 5, median: 2, min: 0.5, below: 1, threshold: 1 });
    expectClose([s.p1], [0.5 + 0.04 * 0.5], 1e-12, 0, 'p1');
  });
});
