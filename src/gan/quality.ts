// Sample-quality measures in float64 on the CPU, from classifier features and logits:
//   FID (Heusel et al. 2017) between Gaussians fitted to two feature sets, with its matrix square root from our
//   own symmetric eigendecomposition (cyclic Jacobi);
//   precision and recall on k-NN manifolds (Kynkäänniemi et al. 2019), over a pluggable neighbour search (the
//   exact one here; a GPU one in nearest.ts);
//   the classifier Inception Score and the KL divergence of the predicted-class histogram from uniform.
// Browser-safe: no I/O.

export interface GaussianStats {
  dim: number;
  count: number;
  mean: Float64Array;
  /** dim × dim, row-major, unbiased (divided by count − 1). */
  cov: Float64Array;
}

/** Mean and covariance of `count` rows of `dim` values. */
export function gaussianStats(rows: ArrayLike<number>, count: number, dim: number): GaussianStats {
  if (!(count >= 2) || rows.length < count * dim) throw new Error(`gaussianStats: needs at least 2 rows of ${dim} values, got ${count} rows in ${rows.length} values`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j] += rows[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= count;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) centred[j] = rows[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const ca = centred[a];
      const row = a * dim;
      for (let b = a; b < dim; b++) cov[row + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b] / (count - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { dim, count, mean, cov };
}

export interface Eigen {
  /** Descending. */
  values: Float64Array;
  /** n × n row-major; column j is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/**
 * Eigendecomposition A = V·diag(λ)·Vᵀ of a symmetric n×n matrix (row-major; only its symmetry is assumed,
 * not checked) by cyclic Jacobi rotations: each rotation zeroes one off-diagonal pair, sweeps repeat until the
 * off-diagonal mass is negligible. Slower than tridiagonal QL but simple, and accurate to the last bits for
 * the small (≤ a few hundred) matrices FID needs.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): Eigen {
  if (matrix.length !== n * n) throw new Error(`symmetricEigen: ${matrix.length} values do not make a ${n}×${n} matrix`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let norm = 0;
  for (const x of a) norm += x * x;
  const tiny = (Number.EPSILON * Math.sqrt(norm)) ** 2 * 1e-4;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= tiny) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq * apq <= tiny / (n * n)) continue;
        // The rotation angle φ with cot 2φ = θ zeroes a[p][q]; t = tan φ is the smaller root of t² + 2θt − 1 = 0.
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        rotate(a, v, n, p, q, c, s);
      }
    }
  }
  const order = [...Array(n).keys()].sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) order.forEach((i, j) => (vectors[r * n + j] = v[r * n + i]));
  return { values, vectors };
}

/** A ← Jᵀ·A·J and V ← V·J for the rotation J in the (p, q) plane: J[p][p] = J[q][q] = c, J[p][q] = s = −J[q][p]. */
function rotate(a: Float64Array, v: Float64Array, n: number, p: number, q: number, c: number, s: number): void {
  for (let k = 0; k < n; k++) {
    const akp = a[k * n + p];
    const akq = a[k * n + q];
    a[k * n + p] = c * akp - s * akq;
    a[k * n + q] = s * akp + c * akq;
  }
  for (let k = 0; k < n; k++) {
    const apk = a[p * n + k];
    const aqk = a[q * n + k];
    a[p * n + k] = c * apk - s * aqk;
    a[q * n + k] = s * apk + c * aqk;
  }
  a[p * n + q] = 0;
  a[q * n + p] = 0;
  for (let k = 0; k < n; k++) {
    const vkp = v[k * n + p];
    const vkq = v[k * n + q];
    v[k * n + p] = c * vkp - s * vkq;
    v[k * n + q] = s * vkp + c * vkq;
  }
}

/** The PSD square root V·diag(√max(λ, 0))·Vᵀ of a symmetric matrix (negative eigenvalues, rounding noise, clamped). */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const root = values.map((l) => Math.sqrt(Math.max(l, 0)));
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k] * root[k] * vectors[j * n + k];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** C = A·B for n×n row-major matrices. */
function multiply(a: Float64Array, b: ArrayLike<number>, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  }
  return c;
}

/**
 * Tr((Σ₁Σ₂)^½) for PSD Σ₁, Σ₂. Σ₁Σ₂ is not symmetric, but it is similar to the symmetric PSD A·Σ₂·A with
 * A = Σ₁^½, so the trace is Σ √λ over that matrix's eigenvalues (clamped at 0).
 */
export function traceSqrtProduct(s1: ArrayLike<number>, s2: ArrayLike<number>, n: number): number {
  const a = sqrtPsd(s1, n);
  const m = multiply(multiply(a, s2, n), a, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const avg = (m[i * n + j] + m[j * n + i]) / 2;
      m[i * n + j] = avg;
      m[j * n + i] = avg;
    }
  }
  return symmetricEigen(m, n).values.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
}

/** ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½): the Fréchet distance between two Gaussians. */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  if (a.dim !== b.dim) throw new Error(`frechetDistance: dimensions differ (${a.dim} and ${b.dim})`);
  const n = a.dim;
  let meanTerm = 0;
  let trace = 0;
  for (let i = 0; i < n; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    trace += a.cov[i * n + i] + b.cov[i * n + i];
  }
  // Clamped: rounding can leave a distance between identical sets a hair below 0.
  return Math.max(0, meanTerm + trace - 2 * traceSqrtProduct(a.cov, b.cov, n));
}

/** FID between two sets of feature rows. */
export function fid(a: ArrayLike<number>, countA: number, b: ArrayLike<number>, countB: number, dim: number): number {
  return frechetDistance(gaussianStats(a, countA, dim), gaussianStats(b, countB, dim));
}

/** Row-wise softmax of logits, in float64. */
export function softmaxRows(logits: ArrayLike<number>, classes: number): Float64Array {
  const count = logits.length / classes;
  const p = new Float64Array(logits.length);
  for (let i = 0; i < count; i++) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, logits[i * classes + c]);
    let total = 0;
    for (let c = 0; c < classes; c++) total += p[i * classes + c] = Math.exp(logits[i * classes + c] - m);
    for (let c = 0; c < classes; c++) p[i * classes + c] /= total;
  }
  return p;
}

/** exp E_x[KL(p(y|x) ‖ p(y))], p(y) the mean of p(y|x) over the set: between 1 and the number of classes. */
export function inceptionScore(logits: ArrayLike<number>, classes: number): number {
  const p = softmaxRows(logits, classes);
  const count = p.length / classes;
  const marginal = new Float64Array(classes);
  for (let i = 0; i < p.length; i++) marginal[i % classes] += p[i] / count;
  let kl = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) kl += p[i] * (Math.log(p[i]) - Math.log(marginal[i % classes]));
  return Math.exp(kl / count);
}

/** How many rows the classifier puts in each class (its largest logit). */
/** Each row's arg-max class. */
export function predictedClasses(logits: ArrayLike<number>, classes: number): Uint8Array {
  const out = new Uint8Array(logits.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

export function classHistogram(logits: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const c of predictedClasses(logits, classes)) counts[c]++;
  return counts;
}

/** Mean of 0/1 flags within each class (NaN for a class with no rows). */
export function meanByClass(flags: Uint8Array, labels: Uint8Array, classes: number): number[] {
  const hits = new Array<number>(classes).fill(0);
  const counts = new Array<number>(classes).fill(0);
  labels.forEach((c, i) => {
    counts[c]++;
    hits[c] += flags[i];
  });
  return hits.map((h, c) => h / counts[c]);
}

/** KL(h ‖ uniform) in nats for a histogram of counts: 0 when balanced, log(classes) when all in one class. */
export function klFromUniform(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let kl = 0;
  for (const c of counts) if (c > 0) kl += (c / total) * Math.log((c / total) * counts.length);
  return kl;
}

/** A k-nearest-neighbour query of `queries` against `base`, both rows of `dim` values. */
export interface NeighbourQuery {
  queries: Float32Array;
  base: Float32Array;
  dim: number;
  k: number;
  /** queries and base are the same rows: a row is not its own neighbour. */
  excludeSelf?: boolean;
  /** Subtracted from the squared distance to each base row before ranking (membership in balls of those radii). */
  baseOffset?: Float64Array;
}

export interface Neighbours {
  /** queries × k base indices, nearest first; −1 where the base has fewer than k rows. */
  indices: Int32Array;
  /** queries × k scores ‖q − b‖² − offset_b, exact in float64, ascending; Infinity where the index is −1. */
  scores: Float64Array;
}

export type NeighbourSearch = (query: NeighbourQuery) => Promise<Neighbours>;

/** ‖q − b‖² in float64 for row qi of `queries` and row bi of `base`. */
export function squaredDistance(queries: ArrayLike<number>, qi: number, base: ArrayLike<number>, bi: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const d = queries[qi * dim + j] - base[bi * dim + j];
    s += d * d;
  }
  return s;
}

/**
 * Ranks candidate base rows of each query exactly, in float64, and keeps the best k. `candidates(qi)` lists
 * base indices to consider (all of them for an exact search, a short list from a GPU search).
 */
export function rankNeighbours(query: NeighbourQuery, candidates: (qi: number) => Iterable<number>): Neighbours {
  const { queries, base, dim, k, excludeSelf, baseOffset } = query;
  const count = queries.length / dim;
  const indices = new Int32Array(count * k).fill(-1);
  const scores = new Float64Array(count * k).fill(Infinity);
  for (let qi = 0; qi < count; qi++) {
    const at = qi * k;
    for (const bi of candidates(qi)) {
      if (excludeSelf && bi === qi) continue;
      const score = squaredDistance(queries, qi, base, bi, dim) - (baseOffset ? baseOffset[bi] : 0);
      if (!(score < scores[at + k - 1])) continue;
      let p = k - 1;
      while (p > 0 && scores[at + p - 1] > score) {
        scores[at + p] = scores[at + p - 1];
        indices[at + p] = indices[at + p - 1];
        p--;
      }
      scores[at + p] = score;
      indices[at + p] = bi;
    }
  }
  return { indices, scores };
}

/** The exact search, comparing every query with every base row in float64 (for small sets and as a reference). */
export const exactNeighbours: NeighbourSearch = async (query) => {
  const all = [...Array(query.base.length / query.dim).keys()];
  return rankNeighbours(query, () => all);
};

/** Squared distance from each row to its k-th nearest other row: the radius² of its k-NN ball. */
export async function knnRadii(rows: Float32Array, dim: number, k: number, search: NeighbourSearch): Promise<Float64Array> {
  const { scores } = await search({ queries: rows, base: rows, dim, k, excludeSelf: true });
  return Float64Array.from({ length: rows.length / dim }, (_, i) => scores[i * k + k - 1]);
}

/** 1 for each query inside at least one ball (base row b, radius² radii[b]), else 0. */
export async function insideBalls(queries: Float32Array, base: Float32Array, radii: Float64Array, dim: number, search: NeighbourSearch): Promise<Uint8Array> {
  const { scores } = await search({ queries, base, dim, k: 1, baseOffset: radii });
  return Uint8Array.from(scores, (s) => (s <= 0 ? 1 : 0));
}

/** Fraction of 0/1 flags that are 1. */
export const fractionSet = (flags: Uint8Array): number => flags.reduce((a, b) => a + b, 0) / flags.length;

export interface PrecisionRecall {
  /** Fraction of generated samples inside the real k-NN manifold. */
  precision: number;
  /** Fraction of real samples inside the generated k-NN manifold. */
  recall: number;
}

/** Per sample: whether each generated row is inside the real k-NN manifold, and each real row inside the generated one. */
export interface ManifoldMembership {
  generatedInReal: Uint8Array;
  realInGenerated: Uint8Array;
}

export async function manifoldMembership(real: Float32Array, fake: Float32Array, dim: number, { k = 3, search = exactNeighbours }: { k?: number; search?: NeighbourSearch } = {}): Promise<ManifoldMembership> {
  for (const [name, rows] of [['real', real], ['generated', fake]] as const) {
    if (rows.length / dim <= k) throw new Error(`precisionRecall: ${rows.length / dim} ${name} samples are too few for k = ${k}`);
  }
  const realRadii = await knnRadii(real, dim, k, search);
  const fakeRadii = await knnRadii(fake, dim, k, search);
  return {
    generatedInReal: await insideBalls(fake, real, realRadii, dim, search),
    realInGenerated: await insideBalls(real, fake, fakeRadii, dim, search),
  };
}

/** Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls, k = 3 by default. */
export async function precisionRecall(real: Float32Array, fake: Float32Array, dim: number, options: { k?: number; search?: NeighbourSearch } = {}): Promise<PrecisionRecall> {
  const { generatedInReal, realInGenerated } = await manifoldMembership(real, fake, dim, options);
  return { precision: fractionSet(generatedInReal), recall: fractionSet(realInGenerated) };
}

export interface DistanceSummary {
  count: number;
  median: number;
  /** 1st percentile. */
  p1: number;
  min: number;
  /** How many are below `threshold`. */
  below: number;
  threshold: number;
}

/** Linear-interpolated quantile q ∈ [0, 1] of ascending values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function summarizeDistances(distances: ArrayLike<number>, threshold: number): DistanceSummary {
  const sorted = Float64Array.from(distances).sort();
  let below = 0;
  for (const d of sorted) if (d < threshold) below++;
  return { count: sorted.length, median: quantile(sorted, 0.5), p1: quantile(sorted, 0.01), min: sorted[0], below, threshold };
}
