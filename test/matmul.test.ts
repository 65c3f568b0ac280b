import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { matmulRef as reference } from './reference.js';
import { matmulKernel, matmulConfig, type MatmulAlgorithm } from '../src/kernels/matmul.js';
import { matmul } from '../src/tensor/ops/matmul.js';
import { tidy } from '../src/tensor/autograd.js';
import { Tensor } from '../src/tensor/tensor.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

const defaults = { ...matmulConfig };
afterEach(() => Object.assign(matmulConfig, defaults));

const transposes: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
const name = (ta: boolean, tb: boolean) => `${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'}`;

/** Runs one product on random data and returns it with its float64 reference. */
async function product(M: number, K: number, N: number, ta: boolean, tb: boolean, algorithm: MatmulAlgorithm, seed = 1) {
  const a = randomArray(M * K, seed);
  const b = randomArray(K * N, seed + 1);
  const c = await tidy(engine, () =>
    Tensor.adopt(matmulKernel(toGpu(engine, a, ta ? [K, M] : [M, K]), toGpu(engine, b, tb ? [N, K] : [K, N]), { transposeA: ta, transposeB: tb, algorithm })),
  );
  expect(c.shape).toEqual([M, N]);
  const got = await c.toArray();
  c.dispose();
  return { got, want: reference(a, b, M, K, N, ta, tb) };
}

// M×K×N: odd sizes take the scalar-read variants, multiples of 4 the vec4 ones. Each variant is a pipeline
// that takes llvmpipe seconds to compile, so the mix of both (12×20×7) is tried for A·B only.
const shapes: [number, number, number][] = [
  [1, 1, 1], [1, 7, 3], [5, 3, 9], [13, 17, 19], [33, 65, 31], [64, 64, 64], [100, 132, 104], [129, 131, 101],
];
const mixedShape: [number, number, number] = [12, 20, 7];

describe('matmul kernels match float64', () => {
  for (const algorithm of ['naive', 'fast'] as const) {
    for (const [ta, tb] of transposes) {
      it(`${algorithm} ${name(ta, tb)}`, async () => {
        for (const [M, K, N] of !ta && !tb ? [...shapes, mixedShape] : shapes) {
          const { got, want } = await product(M, K, N, ta, tb, algorithm, M + K + N);
          // f32 sums of K products of values in [-1, 1]: compare relative to a magnitude-1 floor
          expectClose(got, want, 2e-6 * Math.sqrt(K) + 1e-6, 1, `${algorithm} ${name(ta, tb)} ${M}×${K}×${N}`);
        }
      });
    }
  }

  it('fast 32-row block (forced on small products), vec4 and scalar reads', async () => {
    matmulConfig.tallMinMacs = 0;
    // A·B with vec4 reads, Aᵀ·Bᵀ with scalar ones: between them every read path of the 32-row block
    const cases: [number, number, number, boolean, boolean][] = [[70, 36, 40, false, false], [37, 29, 45, true, true]];
    for (const [M, K, N, ta, tb] of cases) {
      const { got, want } = await product(M, K, N, ta, tb, 'fast', 7);
      expectClose(got, want, 2e-5, 1, `tall ${name(ta, tb)} ${M}×${K}×${N}`);
    }
    // and once from textures, as the DCGAN's big products run where subgroups are missing
    matmulConfig.textureMinMacs = 0;
    matmulConfig.subgroups = false;
    const { got, want } = await product(70, 36, 40, false, true, 'fast', 8);
    expectClose(got, want, 2e-5, 1, 'tall texture A·Bᵀ 70×36×40');
  });

  it('fast with texture operands (forced): every transpose, padded and copied staging', async () => {
    const saved = { ...matmulConfig };
    matmulConfig.textureMinMacs = 0;
    try {
      // odd column counts go through the zero-padding staging shader; 64-multiples through a plain copy
      const cases: [number, number, number, boolean, boolean][] = [
        [13, 17, 19, false, false], [9, 33, 5, true, false], [1, 7, 3, false, true], [21, 6, 11, true, true], [70, 128, 64, false, false],
      ];
      for (const [M, K, N, ta, tb] of cases) {
        const { got, want } = await product(M, K, N, ta, tb, 'fast', M + N);
        expectClose(got, want, 2e-6 * Math.sqrt(K) + 1e-6, 1, `texture ${name(ta, tb)} ${M}×${K}×${N}`);
      }
    } finally {
      Object.assign(matmulConfig, saved);
    }
  });

  it('subgroup block (texture operands, more than 32 rows): every transpose, K tails, partial blocks, split K', async (ctx) => {
    if (engine.subgroupSize !== 8) ctx.skip(); // needs subgroups of exactly 8 lanes (llvmpipe has them)
    matmulConfig.textureMinMacs = 0;
    // none of M, N is a multiple of the 64×64 block but 64 itself; K = 17, 9, 5 leave a tail of the step of 4
    const cases: [number, number, number, boolean, boolean][] = [
      [70, 36, 40, false, false], [65, 17, 130, true, false], [100, 33, 67, false, true], [129, 9, 65, true, true], [33, 5, 1, false, false], [64, 64, 64, true, false],
      // few blocks and a long K: split into chunks summed after (the last chunk short, K with a tail)
      [40, 4099, 12, true, false], [70, 3000, 33, false, true],
    ];
    for (const [M, K, N, ta, tb] of cases) {
      const { got, want } = await product(M, K, N, ta, tb, 'fast', M * K);
      expectClose(got, want, 2e-6 * Math.sqrt(K) + 1e-6, 1, `subgroup ${name(ta, tb)} ${M}×${K}×${N}`);
    }
    // a split output with vec4 and with scalar stores
    for (const [M, K, S, B] of [[40, 12, 8, 9], [37, 7, 5, 3], [40, 2100, 8, 2]]) {
      const N = S * B;
      const a = randomArray(M * K, M);
      const b = randomArray(K * N, N);
      const c = await tidy(engine, () => Tensor.adopt(matmulKernel(toGpu(engine, a, [M, K]), toGpu(engine, b, [K, N]), { split: { s: S, shape: [B, M, S] } })));
      const got = await c.toArray();
      c.dispose();
      const ref = reference(a, b, M, K, N, false, false);
      const want = new Float64Array(M * N);
      for (let m = 0; m < M; m++) for (let j = 0; j < N; j++) want[(Math.floor(j / S) * M + m) * S + (j % S)] = ref[m * N + j];
      expectClose(got, want, 2e-6 * Math.sqrt(K) + 1e-6, 1, `subgroup split ${M}×${K}×${N} by ${S}`);
    }
  });

  it('fast with a split output stores column blocks as planes', async () => {
    // S = 5 takes scalar stores, S = 8 vec4 ones; [b, m, s] = C[m, b·S + s]
    for (const [M, K, S, B] of [[6, 9, 5, 3], [13, 12, 8, 2]]) {
      const N = S * B;
      const a = randomArray(M * K, M);
      const b = randomArray(K * N, N);
      const c = await tidy(engine, () => Tensor.adopt(matmulKernel(toGpu(engine, a, [M, K]), toGpu(engine, b, [K, N]), { split: { s: S, shape: [B, M, S] } })));
      expect(c.shape).toEqual([B, M, S]);
      const got = await c.toArray();
      c.dispose();
      const ref = reference(a, b, M, K, N, false, false);
      const want = new Float64Array(M * N);
      for (let m = 0; m < M; m++) for (let j = 0; j < N; j++) want[(Math.floor(j / S) * M + m) * S + (j % S)] = ref[m * N + j];
      expectClose(got, want, 1e-5, 1, `split ${M}×${K}×${N} by ${S}`);
    }
    tidy(engine, () => {
      const x = toGpu(engine, randomArray(12, 1), [3, 4]);
      expect(() => matmulKernel(x, x, { transposeB: true, split: { s: 2, shape: [3, 3] } })).toThrow(/cannot split 3 columns by 2/);
    });
  });

  it('fast agrees with naive on a larger product', async () => {
    const [M, K, N] = [160, 200, 96];
    const a = toGpu(engine, randomArray(M * K, 3), [M, K]);
    const b = toGpu(engine, randomArray(N * K, 4), [N, K]);
    const fast = Tensor.adopt(matmulKernel(a, b, { transposeB: true, algorithm: 'fast' }));
    const naive = Tensor.adopt(matmulKernel(a, b, { transposeB: true, algorithm: 'naive' }));
    expectClose(await fast.toArray(), await naive.toArray(), 5e-6, 1, 'fast vs naive');
    for (const t of [a, b, fast, naive]) t.dispose();
  });

  it('matmulConfig.algorithm picks the kernel when a call names none', async () => {
    const a = toGpu(engine, randomArray(6 * 5, 8), [6, 5]);
    const b = toGpu(engine, randomArray(5 * 3, 9), [5, 3]);
    const want = reference(randomArray(6 * 5, 8), randomArray(5 * 3, 9), 6, 5, 3, false, false);
    matmulConfig.algorithm = 'naive';
    const c = Tensor.adopt(matmulKernel(a, b));
    expectClose(await c.toArray(), want, 1e-5, 1, 'naive by config');
    for (const t of [a, b, c]) t.dispose();
  });

  it('an empty inner dimension gives zeros', async () => {
    const a = toGpu(engine, [], [2, 0]);
    const b = toGpu(engine, [], [0, 3]);
    const c = Tensor.adopt(matmulKernel(a, b));
    expect(c.shape).toEqual([2, 3]);
    expect(Array.from(await c.toArray())).toEqual([0, 0, 0, 0, 0, 0]);
    for (const t of [a, b, c]) t.dispose();
  });
});

describe('matmul op', () => {
  for (const [ta, tb] of transposes) {
    it(`gradient of ${name(ta, tb)} matches finite differences`, async () => {
      const [M, K, N] = [3, 5, 2];
      await gradCheck(engine, (a, b) => matmul(a, b, { transposeA: ta, transposeB: tb }), [
        { data: randomArray(M * K, 11), shape: ta ? [K, M] : [M, K] },
        { data: randomArray(K * N, 12), shape: tb ? [N, K] : [K, N] },
      ]);
    });
  }

  it('only the input that needs a gradient gets one', async () => {
    const a = toGpu(engine, randomArray(4 * 3, 13), [4, 3], true);
    const b = toGpu(engine, randomArray(3 * 2, 14), [3, 2]);
    const c = matmul(a, b);
    expect(c.requiresGrad).toBe(true);
    expect(c.op).toBe('matmul');
    const grads = c.backwardFn!(toGpu(engine, randomArray(4 * 2, 15), [4, 2]));
    expect(grads[0]?.shape).toEqual([4, 3]);
    expect(grads[1]).toBeNull();
    for (const t of [a, b, c, grads[0]!]) t.dispose();
  });

  it('shape errors name the op, both shapes and the transposes', () => {
    const a = toGpu(engine, randomArray(12, 1), [3, 4]);
    const b = toGpu(engine, randomArray(30, 2), [5, 6]);
    const v = toGpu(engine, randomArray(4, 3), [4]);
    expect(() => matmul(a, b)).toThrow(/^matmul: inner dimensions differ: \[3, 4\] · \[5, 6\]$/);
    expect(() => matmul(a, b, { transposeA: true, transposeB: true })).toThrow(/matmul: inner dimensions differ: \[3, 4\]ᵀ · \[5, 6\]ᵀ/);
    expect(() => matmulKernel(a, v)).toThrow(/matmul: expects 2-D matrices, got \[3, 4\] · \[4\]/);
    for (const t of [a, b, v]) t.dispose();
  });
});
