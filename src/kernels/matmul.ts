// 2-D matrix products C = op(A)·op(B), where op transposes an operand when asked. Two algorithms: `naive` (one
// output per invocation, the reference) and `fast`: a register block of C per invocation (matmul.wgsl), or,
// for big products on devices with 8-lane subgroups, a block per subgroup whose lanes share op(A)
// (matmul_subgroup.wgsl). Which one runs is decided by planMatmul (matmul-plan.ts); this file dispatches it.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import { shapeString, sizeOf, type Shape } from '../runtime/shape.js';
import { fillKernel } from './elementwise.js';
import { toTexture, MatrixTexture } from './texture.js';
import { reduceSumKernel } from './reduce.js';
import type { Engine } from '../runtime/engine.js';
import {
  FAST_WORKGROUP, matmulConfig, planLabel, planMatmul,
  type MatmulAlgorithm, type MatmulDims, type MatmulFacts, type MatmulPlan,
} from './matmul-plan.js';

export { matmulConfig, planMatmul, type MatmulAlgorithm, type MatmulDims, type MatmulPlan } from './matmul-plan.js';

/** A matmul operand: a tensor, or a matrix a producer already wrote into a texture (the fast path only). */
export type MatmulOperand = DeviceArray | MatrixTexture;

export interface MatmulOptions {
  /** Use Aᵀ: A is stored [K, M]. */
  transposeA?: boolean;
  /** Use Bᵀ: B is stored [N, K]. */
  transposeB?: boolean;
  /** Defaults to matmulConfig.algorithm. */
  algorithm?: MatmulAlgorithm;
  /**
   * Store C [M, N] with its columns read as [N/S, S]: C[m, b·S + s] goes to [b, m, s], and the result has
   * shape `shape` (M·N elements). A conv's [Cout, N·OH·OW] product comes out NCHW this way.
   */
  split?: { s: number; shape: Shape };
  /** Prefixes the dispatch labels: the plan of the op this product is part of (e.g. 'conv2d.forward[gemm]'). */
  label?: string;
}

const NAIVE_WORKGROUP = 64;

/** The device facts and matmul thresholds the planners read, from this engine and matmulConfig. */
export function matmulFacts(engine: Engine): MatmulFacts {
  return { subgroupSize: engine.subgroupSize, maxTextureDimension2D: engine.device.limits.maxTextureDimension2D, matmul: matmulConfig };
}

function describe(shape: Shape, transposed: boolean | undefined): string {
  return shapeString(shape) + (transposed ? 'ᵀ' : '');
}

/** Checks the operands and returns the product's dimensions; `op` names the caller in errors. */
export function matmulDims(op: string, a: Shape, b: Shape, transposeA = false, transposeB = false): MatmulDims {
  const operands = `${describe(a, transposeA)} · ${describe(b, transposeB)}`;
  if (a.length !== 2 || b.length !== 2) throw new Error(`${op}: expects 2-D matrices, got ${operands}`);
  const [M, Ka] = transposeA ? [a[1], a[0]] : [a[0], a[1]];
  const [Kb, N] = transposeB ? [b[1], b[0]] : [b[0], b[1]];
  if (Ka !== Kb) throw new Error(`${op}: inner dimensions differ: ${operands}`);
  return { M, N, K: Ka };
}


/** The plan matmulKernel(a, b, opts) follows (throws as matmulKernel does on operands that don't fit). */
export function matmulPlanOf(a: MatmulOperand, b: MatmulOperand, opts: MatmulOptions = {}): MatmulPlan {
  const transposeA = opts.transposeA ?? false;
  const transposeB = opts.transposeB ?? false;
  const dims = matmulDims('matmul', a.shape, b.shape, transposeA, transposeB);
  const split = opts.split;
  if (split && (dims.N % split.s !== 0 || sizeOf(split.shape) !== dims.M * dims.N)) {
    throw new Error(`matmul: cannot split ${dims.N} columns by ${split.s} into ${shapeString(split.shape)}`);
  }
  const call = {
    a: { shape: a.shape, texture: a instanceof MatrixTexture },
    b: { shape: b.shape, texture: b instanceof MatrixTexture },
    transposeA, transposeB, split: split?.s ?? 0, algorithm: opts.algorithm,
  };
  return planMatmul(dims, call, matmulFacts(a.engine));
}

/** C[M,N] = op(A)·op(B) for 2-D A and B (no autograd). */
export function matmulKernel(a: MatmulOperand, b: MatmulOperand, opts: MatmulOptions = {}): DeviceArray {
  const plan = matmulPlanOf(a, b, opts);
  const transposeA = opts.transposeA ?? false;
  const transposeB = opts.transposeB ?? false;
  const dims = matmulDims('matmul', a.shape, b.shape, transposeA, transposeB);
  const outShape = opts.split?.shape ?? [dims.M, dims.N];
  const label = (opts.label ? `${opts.label}:` : '') + planLabel(plan.name);
  switch (plan.variant) {
    case 'zero-k':
      return fillKernel(a.engine, outShape, 0);
    case 'empty':
      return DeviceArray.empty(a.engine, outShape);
    case 'naive': {
      const c = DeviceArray.empty(a.engine, outShape);
      runNaive(a as DeviceArray, b as DeviceArray, c, dims, transposeA, transposeB, label);
      return c;
    }
    default: {
      const c = DeviceArray.empty(a.engine, outShape);
      runFast(plan, a, b, c, dims, transposeA, transposeB, opts.split?.s ?? 0, label);
      return c;
    }
  }
}

function runNaive(a: DeviceArray, b: DeviceArray, c: DeviceArray, { M, N, K }: MatmulDims, transposeA: boolean, transposeB: boolean, label: string): void {
  const [aRow, aCol] = transposeA ? [1, M] : [K, 1];
  const [bRow, bCol] = transposeB ? [1, K] : [N, 1];
  a.engine.run({
    shader: 'matmul_naive',
    label: `${label} ${M}×${N}×${K}`,
    uniforms: new Params().u32(M, N, K, aRow, aCol, bRow, bCol).buffer,
    buffers: [a, b, c],
    workgroups: grid1d(M * N, NAIVE_WORKGROUP),
  });
}

type BlockedPlan = Extract<MatmulPlan, { blocks: number }>;

/** `split` > 0 stores C's column blocks of that size as planes (MatmulOptions.split). */
function runFast(plan: BlockedPlan, a: MatmulOperand, b: MatmulOperand, c: DeviceArray, { M, N, K }: MatmulDims, transposeA: boolean, transposeB: boolean, split: number, label: string): void {
  const engine = c.engine;
  const { colBlocks, blocks, vec4 } = plan;
  // operands not already in textures are staged for this product and released after it
  const ta = plan.stageA ? toTexture(a as DeviceArray, a.shape[0], a.shape[1], label) : null;
  const tb = plan.stageB ? toTexture(b as DeviceArray, b.shape[0], b.shape[1], label) : null;
  const binding = (x: MatmulOperand, staged: MatrixTexture | null) => (x instanceof MatrixTexture ? x.view : staged?.view ?? x);
  const transposes = `${transposeA ? ':TA' : ''}${transposeB ? ':TB' : ''}`;
  const dims = `${M}×${N}×${K}`;
  const uniforms = (kChunk: number) => new Params().u32(M, N, K, colBlocks, blocks, split, kChunk).buffer;
  const operands = [binding(a, ta), binding(b, tb)];
  if (plan.kernel === 'matmul_subgroup') {
    const { splitK, kChunk } = plan;
    const partials = splitK > 1 ? DeviceArray.empty(engine, [splitK, M * N]) : c;
    engine.run({
      shader: 'matmul_subgroup',
      label: `${label}${transposes}${splitK > 1 ? `:K/${splitK}` : ''} ${dims}`,
      defines: { TA: transposeA, TB: transposeB, VC: vec4.c, SPLIT: split > 0, KTAIL: K % 4 !== 0 },
      uniforms: uniforms(kChunk),
      buffers: [...operands, partials],
      workgroups: [...grid1d(blocks, 1), Math.ceil(K / kChunk)],
    });
    if (partials !== c) {
      reduceSumKernel(partials, 1, splitK, M * N, c.shape, 1, c);
      partials.dispose();
    }
  } else {
    engine.run({
      shader: 'matmul',
      label: `${label}${transposes} ${dims}`,
      defines: {
        TEX: plan.textures, TA: transposeA, TB: transposeB,
        VA: vec4.a, VB: vec4.b, VC: vec4.c, SPLIT: split > 0, TALL: plan.tall, WG: FAST_WORKGROUP,
      },
      uniforms: uniforms(0),
      buffers: [...operands, c],
      workgroups: grid1d(blocks, FAST_WORKGROUP),
    });
  }
  ta?.dispose();
  tb?.dispose();
}
