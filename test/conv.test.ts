import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { Tensor } from '../src/tensor/tensor.js';
import { getEngine, randomArray, toGpu, gradCheck } from './helpers.js';
import { conv2dRef, convTransposeRef, expectNear } from './reference.js';
import {
  biasGradKernel, conv2dBackwardKernel, conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel, convConfig,
  type ConvAlgorithm,
} from '../src/kernels/conv.js';
import { conv2d, convTranspose2d } from '../src/tensor/ops/conv.js';
import { matmulConfig } from '../src/kernels/matmul.js';
import { backward, tidy } from '../src/tensor/autograd.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

const ALGORITHMS: ConvAlgorithm[] = ['naive', 'fast'];
const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

async function read(t: Tensor): Promise<Float32Array> {
  const v = await t.toArray();
  t.dispose();
  return v;
}

async function withAlgorithm<T>(algorithm: ConvAlgorithm, fn: () => Promise<T>): Promise<T> {
  const before = convConfig.algorithm;
  convConfig.algorithm = algorithm;
  try {
    return await fn();
  } finally {
    convConfig.algorithm = before;
  }
}

// [N, Cin, H, W, Cout, kH, kW, stride, padding]
type ConvCase = [number, number, number, number, number, number, number, number, number];

const convCases: ConvCase[] = [
  [1, 1, 5, 5, 1, 3, 3, 1, 1],
  [3, 3, 7, 9, 5, 3, 3, 2, 1],
  [1, 5, 9, 7, 7, 4, 4, 2, 1],
  [3, 7, 14, 14, 10, 7, 7, 3, 2],
  [3, 10, 1, 1, 3, 1, 1, 1, 0],
  [1, 3, 5, 9, 2, 3, 1, 1, 0],
  [3, 5, 9, 9, 7, 4, 3, 3, 0],
  [1, 7, 1, 5, 10, 1, 3, 2, 2],
  [3, 10, 5, 5, 1, 7, 7, 1, 1],
  [3, 1, 14, 14, 5, 7, 7, 2, 2],
  // kernels covering the whole unpadded input: the fast path's dense-layer shortcut
  [2, 3, 5, 4, 6, 5, 4, 2, 0],
  [1, 2, 3, 3, 5, 3, 3, 1, 0],
];

/** Runs an op forward and backward (with output gradient dy) under one algorithm; returns y, dx, dw, db. */
async function opForwardBackward(
  algorithm: ConvAlgorithm,
  op: (x: Tensor, w: Tensor, b: Tensor | null) => Tensor,
  x: Float64Array, xs: number[], w: Float64Array, ws: number[], b: Float64Array | null, dy: Float64Array, ys: number[],
): Promise<Float32Array[]> {
  return withAlgorithm(algorithm, async () => {
    const leaves = [toGpu(engine, x, xs, true), toGpu(engine, w, ws, true), ...(b ? [toGpu(engine, b, [b.length], true)] : [])];
    const y = tidy(engine, () => {
      const out = op(leaves[0], leaves[1], leaves[2] ?? null);
      expect(out.shape).toEqual(ys);
      backward(out, toGpu(engine, dy, ys));
      return out;
    });
    const values = [await read(y)];
    for (const leaf of leaves) {
      values.push(await read(leaf.grad!));
      leaf.dispose();
    }
    return values;
  });
}

// The fast path once as chosen by size, and once with every GEMM forced onto texture operands.
for (const textures of [false, true]) {
describe(textures ? 'with GEMM operands in textures (forced)' : 'with GEMM operands as chosen', () => {
  const saved = matmulConfig.textureMinMacs;
  beforeAll(() => {
    if (textures) matmulConfig.textureMinMacs = 0;
  });
  afterAll(() => {
    matmulConfig.textureMinMacs = saved;
  });

describe('conv2d kernels match float64 loops', () => {
  for (const [idx, [n, cin, h, wd, cout, kh, kw, s, p]] of convCases.entries()) {
    const name = `x [${n}, ${cin}, ${h}, ${wd}] w [${cout}, ${cin}, ${kh}, ${kw}] s${s} p${p}`;
    it(name, async () => {
      const xs = [n, cin, h, wd];
      const ws = [cout, cin, kh, kw];
      const x = randomArray(prod(xs), 10 + idx);
      const w = randomArray(prod(ws), 20 + idx);
      const b = randomArray(cout, 30 + idx);
      const probe = conv2dRef(x, xs, w, ws, b, null, s, p);
      const ys = [n, cout, probe.oh, probe.ow];
      const dy = randomArray(prod(ys), 40 + idx);
      const ref = conv2dRef(x, xs, w, ws, b, dy, s, p);
      const results: Record<string, Float32Array[]> = {};
      for (const algorithm of ALGORITHMS) {
        const opts = { stride: s, padding: p, algorithm };
        const outs = tidy(engine, () => {
          const [xt, wt, bt, dyt] = [toGpu(engine, x, xs), toGpu(engine, w, ws), toGpu(engine, b, [cout]), toGpu(engine, dy, ys)];
          const both = conv2dBackwardKernel(xt, wt, dyt, { ...opts, input: true, weight: true });
          return [
            conv2dKernel(xt, wt, bt, opts), conv2dKernel(xt, wt, null, opts),
            conv2dGradInputKernel(dyt, wt, xs, opts), conv2dGradWeightKernel(xt, dyt, ws, opts), biasGradKernel(dyt),
            both.dx!, both.dw!,
          ].map((a) => Tensor.adopt(a));
        });
        expect(outs[0].shape).toEqual(ys);
        expect(outs[2].shape).toEqual(xs);
        expect(outs[3].shape).toEqual(ws);
        const [y, yNoBias, dx, dw, db, dx2, dw2] = await Promise.all(outs.map(read));
        expectNear(y, ref.y, `${algorithm} forward`);
        expectNear(yNoBias, ref.y.map((v, i) => v - b[Math.floor(i / (probe.oh * probe.ow)) % cout]), `${algorithm} forward without bias`);
        expectNear(dx, ref.dx, `${algorithm} grad-input`);
        expectNear(dw, ref.dw, `${algorithm} grad-weight`);
        expectNear(db, ref.db, `${algorithm} bias-grad`);
        expectNear(dx2, ref.dx, `${algorithm} backward dx`);
        expectNear(dw2, ref.dw, `${algorithm} backward dw`);
        results[algorithm] = [y, dx, dw];
      }
      for (let k = 0; k < 3; k++) {
        expectNear(results.fast[k], Float64Array.from(results.naive[k]), `fast vs naive ${['forward', 'grad-input', 'grad-weight'][k]}`);
      }
    });
  }
});

// [N, Cin_T, H, W, Cout_T, kH, kW, stride, padding, outputPadding]
type ConvTCase = [number, number, number, number, number, number, number, number, number, number];

const convTCases: ConvTCase[] = [
  [1, 3, 5, 5, 2, 3, 3, 2, 1, 1],
  [3, 5, 7, 1, 7, 4, 4, 2, 1, 0],
  [3, 10, 1, 1, 5, 7, 7, 1, 0, 0],
  [1, 7, 9, 5, 3, 4, 3, 3, 2, 2],
  [3, 1, 5, 7, 10, 3, 3, 3, 0, 1],
  [1, 5, 14, 14, 1, 1, 1, 1, 0, 0],
  [2, 6, 1, 1, 3, 3, 2, 2, 0, 0],
];

describe('convTranspose2d matches a float64 scatter', () => {
  for (const [idx, [n, cin, h, wd, cout, kh, kw, s, p, op]] of convTCases.entries()) {
    it(`x [${n}, ${cin}, ${h}, ${wd}] w [${cin}, ${cout}, ${kh}, ${kw}] s${s} p${p} op${op}`, async () => {
      const xs = [n, cin, h, wd];
      const ws = [cin, cout, kh, kw];
      const x = randomArray(prod(xs), 50 + idx);
      const w = randomArray(prod(ws), 60 + idx);
      const b = randomArray(cout, 70 + idx);
      const { oh, ow } = convTransposeRef(x, xs, w, ws, null, null, s, p, op);
      const ys = [n, cout, oh, ow];
      const dy = randomArray(prod(ys), 80 + idx);
      const ref = convTransposeRef(x, xs, w, ws, b, dy, s, p, op);
      const f = (xt: Tensor, wt: Tensor, bt: Tensor | null) => convTranspose2d(xt, wt, bt, { stride: s, padding: p, outputPadding: op });
      const got: Record<string, Float32Array[]> = {};
      for (const algorithm of ALGORITHMS) {
        const [y, dx, dw, db] = await opForwardBackward(algorithm, f, x, xs, w, ws, b, dy, ys);
        expectNear(y, ref.y, `${algorithm} forward`);
        expectNear(dx, ref.dx, `${algorithm} grad-input`);
        expectNear(dw, ref.dw, `${algorithm} grad-weight`);
        expectNear(db, ref.db, `${algorithm} bias-grad`);
        got[algorithm] = [y, dx, dw];
      }
      for (let k = 0; k < 3; k++) expectNear(got.fast[k], Float64Array.from(got.naive[k]), `fast vs naive ${k}`);
    });
  }
});

});
}

describe('the DCGAN layers at batch 2', () => {
  // [label, transposed, Cin, Cout, k, stride, padding, input size]
  const layers: [string, boolean, number, number, number, number, number, number][] = [
    ['G1 convT 100→128 k7 s1 p0, 1→7', true, 100, 128, 7, 1, 0, 1],
    ['G2 convT 128→64 k4 s2 p1, 7→14', true, 128, 64, 4, 2, 1, 7],
    ['G3 convT 64→1 k4 s2 p1, 14→28', true, 64, 1, 4, 2, 1, 14],
    ['D1 conv 1→64 k4 s2 p1, 28→14', false, 1, 64, 4, 2, 1, 28],
    ['D2 conv 64→128 k4 s2 p1, 14→7', false, 64, 128, 4, 2, 1, 14],
    ['D3 conv 128→1 k7 s1 p0, 7→1', false, 128, 1, 7, 1, 0, 7],
  ];
  for (const [idx, [label, transposed, cin, cout, k, s, p, size]] of layers.entries()) {
    it(label, async () => {
      const xs = [2, cin, size, size];
      const ws = transposed ? [cin, cout, k, k] : [cout, cin, k, k];
      const x = randomArray(prod(xs), 90 + idx);
      const w = randomArray(prod(ws), 100 + idx, -0.2, 0.2);
      const b = randomArray(cout, 110 + idx);
      const refOf = (dy: Float64Array | null) => transposed
        ? convTransposeRef(x, xs, w, ws, b, dy, s, p, 0)
        : conv2dRef(x, xs, w, ws, b, dy, s, p);
      const { oh, ow } = refOf(null);
      const ys = [2, cout, oh, ow];
      expect(oh).toBe(transposed ? (size - 1) * s - 2 * p + k : Math.floor((size + 2 * p - k) / s) + 1);
      const dy = randomArray(prod(ys), 120 + idx);
      const ref = refOf(dy);
      const f = transposed
        ? (xt: Tensor, wt: Tensor, bt: Tensor | null) => convTranspose2d(xt, wt, bt, { stride: s, padding: p })
        : (xt: Tensor, wt: Tensor, bt: Tensor | null) => conv2d(xt, wt, bt, { stride: s, padding: p });
      for (const algorithm of ALGORITHMS) {
        const [y, dx, dw, db] = await opForwardBackward(algorithm, f, x, xs, w, ws, b, dy, ys);
        expectNear(y, ref.y, `${algorithm} forward`);
        expectNear(dx, ref.dx, `${algorithm} grad-input`);
        expectNear(dw, ref.dw, `${algorithm} grad-weight`);
        expectNear(db, ref.db, `${algorithm} bias-grad`);
      }
    });
  }
});

describe('conv gradients match finite differences', () => {
  for (const algorithm of ALGORITHMS) {
    it(`conv2d stride 2 padding 1 (${algorithm})`, async () => {
      await withAlgorithm(algorithm, () => gradCheck(engine, (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }), [
        { data: randomArray(2 * 3 * 5 * 5, 1), shape: [2, 3, 5, 5] },
        { data: randomArray(4 * 3 * 3 * 3, 2), shape: [4, 3, 3, 3] },
        { data: randomArray(4, 3), shape: [4] },
      ]));
    });
    it(`convTranspose2d stride 2 padding 1 (${algorithm})`, async () => {
      await withAlgorithm(algorithm, () => gradCheck(engine, (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1 }), [
        { data: randomArray(2 * 3 * 3 * 3, 4), shape: [2, 3, 3, 3] },
        { data: randomArray(3 * 2 * 4 * 4, 5), shape: [3, 2, 4, 4] },
        { data: randomArray(2, 6), shape: [2] },
      ]));
      await withAlgorithm(algorithm, () => gradCheck(engine, (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), [
        { data: randomArray(1 * 2 * 3 * 4, 7), shape: [1, 2, 3, 4] },
        { data: randomArray(2 * 3 * 3 * 3, 8), shape: [2, 3, 3, 3] },
        { data: randomArray(3, 9), shape: [3] },
      ]));
    });
  }
});

describe('conv shape errors', () => {
  const t = (shape: number[]) => toGpu(engine, randomArray(prod(shape), 1), shape);
  it('conv2d rejects bad shapes and options', () => {
    tidy(engine, () => {
      expect(() => conv2d(t([3, 5, 5]), t([8, 3, 3, 3]), null)).toThrow(/conv2d: needs a rank-4 input and weight, got \[3, 5, 5\] and \[8, 3, 3, 3\]/);
      expect(() => conv2d(t([1, 3, 5, 5]), t([8, 3, 3]), null)).toThrow(/conv2d: needs a rank-4 input and weight, got \[1, 3, 5, 5\] and \[8, 3, 3\]/);
      expect(() => conv2d(t([2, 3, 5, 5]), t([8, 4, 3, 3]), null)).toThrow(/conv2d: input has 3 channels but weight \[8, 4, 3, 3\] expects 4/);
      expect(() => conv2d(t([2, 3, 5, 5]), t([8, 3, 3, 3]), t([5]))).toThrow(/conv2d: bias \[5\] does not match weight \[8, 3, 3, 3\] \(needs \[8\]\)/);
      expect(() => conv2d(t([2, 3, 5, 5]), t([8, 3, 3, 3]), null, { stride: 0 })).toThrow(/conv2d: stride must be an integer ≥ 1, got 0/);
      expect(() => conv2d(t([2, 3, 5, 5]), t([8, 3, 3, 3]), null, { padding: -1 })).toThrow(/conv2d: padding must be an integer ≥ 0, got -1/);
      expect(() => conv2d(t([1, 3, 2, 2]), t([8, 3, 5, 5]), null)).toThrow(/conv2d: input \[1, 3, 2, 2\] with weight \[8, 3, 5, 5\], stride 1, padding 0 gives an empty -2×-2 output/);
    });
  });
  it('convTranspose2d rejects bad shapes and options', () => {
    tidy(engine, () => {
      const op = convTranspose2d;
      expect(() => op(t([3, 5, 5]), t([3, 8, 3, 3]), null)).toThrow(/convTranspose2d: needs a rank-4 input and weight, got \[3, 5, 5\] and \[3, 8, 3, 3\]/);
      expect(() => op(t([2, 3, 5, 5]), t([4, 8, 3, 3]), null)).toThrow(/convTranspose2d: input has 3 channels but weight \[4, 8, 3, 3\] expects 4/);
      expect(() => op(t([2, 3, 5, 5]), t([3, 8, 3, 3]), t([3]))).toThrow(/convTranspose2d: bias \[3\] does not match weight \[3, 8, 3, 3\] \(needs \[8\]\)/);
      expect(() => op(t([2, 3, 5, 5]), t([3, 8, 3, 3]), null, { stride: 0 })).toThrow(/convTranspose2d: stride must be an integer ≥ 1, got 0/);
      expect(() => op(t([2, 3, 5, 5]), t([3, 8, 3, 3]), null, { padding: -2 })).toThrow(/convTranspose2d: padding must be an integer ≥ 0, got -2/);
      expect(() => op(t([2, 3, 5, 5]), t([3, 8, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(/convTranspose2d: outputPadding must be an integer in \[0, stride 2\), got 2/);
      expect(() => op(t([1, 3, 1, 1]), t([3, 2, 1, 1]), null, { padding: 1 })).toThrow(/convTranspose2d: input \[1, 3, 1, 1\] with weight \[3, 2, 1, 1\], stride 1, padding 1, outputPadding 0 gives an empty -1×-1 output/);
    });
  });
  it('raw gradient kernels reject a dy of the wrong shape', () => {
    tidy(engine, () => {
      expect(() => conv2dGradInputKernel(t([2, 8, 4, 4]), t([8, 3, 3, 3]), [2, 3, 5, 5], { stride: 1, padding: 0 }))
        .toThrow(/conv2dGradInput: dy has shape \[2, 8, 4, 4\] but the convolution's output is \[2, 8, 3, 3\]/);
      expect(() => conv2dGradWeightKernel(t([2, 3, 5, 5]), t([2, 7, 3, 3]), [8, 3, 3, 3], { stride: 1, padding: 0 }))
        .toThrow(/conv2dGradWeight: dy has shape \[2, 7, 3, 3\] but the convolution's output is \[2, 8, 3, 3\]/);
      expect(() => biasGradKernel(t([5]))).toThrow(/biasGrad: needs \[N, C, \.\.\.\], got \[5\]/);
    });
  });
});
