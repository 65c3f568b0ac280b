// Naive vs fast matmul at the DCGAN's GEMM shapes and a square one. Each timing records R products and waits
// for them (engine.sync()); the median of a few runs after a warm-up (which also compiles the pipeline) is
// reported per product.
import type { Engine } from '../src/runtime/engine.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { DeviceArray } from '../src/runtime/storage.js';
import { rand } from '../src/tensor/ops/create.js';
import { matmulKernel, type MatmulAlgorithm } from '../src/kernels/matmul.js';
import { medianOf } from './stats.js';

export interface MatmulBenchRow {
  shape: string;
  algorithm: string;
  ms: number;
  gflops: number;
}

interface Case {
  M: number;
  K: number;
  N: number;
  transposeA?: boolean;
  transposeB?: boolean;
}

const CASES: Case[] = [
  // im2col forward of the 64→128 k4 conv at batch 128: [128·7·7, 64·4·4] · [64·4·4, 128]
  { M: 6272, K: 1024, N: 128 },
  // the same weight in Linear layout ([out, in], transposed)
  { M: 6272, K: 1024, N: 128, transposeB: true },
  // a weight gradient, colsᵀ·dY, with the long batch·pixels dimension as K
  { M: 256, K: 6272, N: 128, transposeA: true },
  { M: 1024, K: 1024, N: 1024 },
];

function label({ M, K, N, transposeA, transposeB }: Case): string {
  return `${M}×${K}×${N} ${transposeA ? 'Aᵀ' : 'A'}·${transposeB ? 'Bᵀ' : 'B'}`;
}

async function timeProducts(engine: Engine, a: Tensor, b: Tensor, c: Case, algorithm: MatmulAlgorithm, repeats: number): Promise<number> {
  await engine.sync();
  const start = performance.now();
  const outs: DeviceArray[] = [];
  for (let r = 0; r < repeats; r++) outs.push(matmulKernel(a, b, { transposeA: c.transposeA, transposeB: c.transposeB, algorithm }));
  await engine.sync();
  const ms = (performance.now() - start) / repeats;
  for (const t of outs) t.dispose();
  return ms;
}

export async function benchMatmul(engine: Engine, opts: { quick?: boolean; algorithms?: MatmulAlgorithm[] } = {}): Promise<MatmulBenchRow[]> {
  const rows: MatmulBenchRow[] = [];
  for (const c of CASES) {
    const a = rand(engine, c.transposeA ? [c.K, c.M] : [c.M, c.K], -1, 1, { seed: 1 });
    const b = rand(engine, c.transposeB ? [c.N, c.K] : [c.K, c.N], -1, 1, { seed: 2 });
    for (const algorithm of opts.algorithms ?? (['naive', 'fast'] as const)) {
      // the naive kernel takes seconds per product here: fewer, shorter runs
      const [runs, repeats] = algorithm === 'naive' ? [opts.quick ? 1 : 3, 1] : [opts.quick ? 3 : 5, opts.quick ? 1 : 3];
      const ms = await medianOf(runs, () => timeProducts(engine, a, b, c, algorithm, repeats));
      rows.push({ shape: label(c), algorithm, ms, gflops: (2 * c.M * c.N * c.K) / (ms * 1e6) });
    }
    a.dispose();
    b.dispose();
  }
  return rows;
}
