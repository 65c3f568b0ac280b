// float64 references shared by the kernel tests (conv.test.ts, matmul.test.ts, plan-dispatch.test.ts): each straight
// from the op's definition, with no structure shared with the kernels.
import { expectClose } from './helpers.js';

/** float64 C[M,N] = op(A)·op(B); A is stored [K,M] when ta, B is stored [N,K] when tb. */
export function matmulRef(a: Float64Array, b: Float64Array, M: number, K: number, N: number, ta: boolean, tb: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (ta ? a[k * M + m] : a[m * K + k]) * (tb ? b[n * K + k] : b[k * N + n]);
      c[m * N + n] = s;
    }
  }
  return c;
}

export interface Refs {
  y: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
}

/**
 * float64 conv2d and its gradients for a given output gradient dy, straight from the definition
 * y[n, co, oh, ow] = b[co] + Σ x[n, ci, oh·s − p + kh, ow·s − p + kw] · w[co, ci, kh, kw].
 */
export function conv2dRef(
  x: Float64Array, [n, cin, h, wd]: number[], w: Float64Array, [cout, , kh, kw]: number[],
  b: Float64Array | null, dy: Float64Array | null, s: number, p: number,
): Refs & { oh: number; ow: number } {
  const oh = Math.floor((h + 2 * p - kh) / s) + 1;
  const ow = Math.floor((wd + 2 * p - kw) / s) + 1;
  const y = new Float64Array(n * cout * oh * ow);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(cout);
  for (let b0 = 0; b0 < n; b0++) {
    for (let co = 0; co < cout; co++) {
      for (let r = 0; r < oh; r++) {
        for (let c = 0; c < ow; c++) {
          const yi = ((b0 * cout + co) * oh + r) * ow + c;
          const g = dy ? dy[yi] : 0;
          let acc = b ? b[co] : 0;
          db[co] += g;
          for (let ci = 0; ci < cin; ci++) {
            for (let i = 0; i < kh; i++) {
              const ih = r * s - p + i;
              if (ih < 0 || ih >= h) continue;
              for (let j = 0; j < kw; j++) {
                const iw = c * s - p + j;
                if (iw < 0 || iw >= wd) continue;
                const xi = ((b0 * cin + ci) * h + ih) * wd + iw;
                const wi = ((co * cin + ci) * kh + i) * kw + j;
                acc += x[xi] * w[wi];
                dx[xi] += g * w[wi];
                dw[wi] += g * x[xi];
              }
            }
          }
          y[yi] = acc;
        }
      }
    }
  }
  return { y, dx, dw, db, oh, ow };
}

/**
 * float64 conv-transpose2d written as a scatter: every input element x[n, ci, h, w] adds x · w[ci, co, kh, kw] to
 * y[n, co, h·s − p + kh, w·s − p + kw]; the gradients follow from the same loop.
 */
export function convTransposeRef(
  x: Float64Array, [n, cin, h, wd]: number[], w: Float64Array, [, cout, kh, kw]: number[],
  b: Float64Array | null, dy: Float64Array | null, s: number, p: number, op: number,
): Refs & { oh: number; ow: number } {
  const oh = (h - 1) * s - 2 * p + kh + op;
  const ow = (wd - 1) * s - 2 * p + kw + op;
  const y = new Float64Array(n * cout * oh * ow);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(cout);
  for (let b0 = 0; b0 < n; b0++) {
    for (let co = 0; co < cout; co++) {
      for (let k = 0; k < oh * ow; k++) {
        const yi = (b0 * cout + co) * oh * ow + k;
        y[yi] = b ? b[co] : 0;
        if (dy) db[co] += dy[yi];
      }
    }
    for (let ci = 0; ci < cin; ci++) {
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < wd; c++) {
          const xi = ((b0 * cin + ci) * h + r) * wd + c;
          for (let co = 0; co < cout; co++) {
            for (let i = 0; i < kh; i++) {
              const yr = r * s - p + i;
              if (yr < 0 || yr >= oh) continue;
              for (let j = 0; j < kw; j++) {
                const yc = c * s - p + j;
                if (yc < 0 || yc >= ow) continue;
                const yi = ((b0 * cout + co) * oh + yr) * ow + yc;
                const wi = ((ci * cout + co) * kh + i) * kw + j;
                y[yi] += x[xi] * w[wi];
                if (dy) {
                  dx[xi] += dy[yi] * w[wi];
                  dw[wi] += dy[yi] * x[xi];
                }
              }
            }
          }
        }
      }
    }
  }
  return { y, dx, dw, db, oh, ow };
}

/** Compares with a floor of 10% of the reference's RMS, so f32 rounding in long sums near zero isn't an error. */
export function expectNear(actual: ArrayLike<number>, expected: Float64Array, what: string, tol = 1e-4): number {
  let ss = 0;
  for (const v of expected) ss += v * v;
  const rms = Math.sqrt(ss / Math.max(1, expected.length));
  return expectClose(actual, expected, tol, Math.max(1e-6, 0.1 * rms), what);
}

/** Per-channel batch mean and biased variance in float64. */
export function channelStats(x: Float64Array, [n, c, h, w]: readonly number[]): { mean: number[]; variance: number[] } {
  const hw = h * w;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) for (let k = 0; k < hw; k++) s += x[(b * c + ch) * hw + k];
    const m = s / (n * hw);
    let q = 0;
    for (let b = 0; b < n; b++) for (let k = 0; k < hw; k++) q += (x[(b * c + ch) * hw + k] - m) ** 2;
    mean.push(m);
    variance.push(q / (n * hw));
  }
  return { mean, variance };
}
