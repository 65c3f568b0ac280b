// 2-D matrix products C = op(A)·op(B), where op transposes an operand when asked. Two algorithms: `naive` (one
// output per invocation, the reference) and `fast`: a register block of C per invocation (matmul.wgsl), or,
// for big products on devices with 8-lane subgroups, a block per subgroup whose lanes share op(A)
// (matmul_subgroup.wgsl).
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import { shapeString, sizeOf, type Shape } from '../runtime/shape.js';
import { fillKernel } from './elementwise.js';
import { toTexture, fitsTexture, MatrixTexture } from './texture.js';
import { reduceSumKernel } from './reduce.js';
import type { Engine } from '../runtime/engine.js';

/** A matmul operand: a tensor, or a matrix a producer already wrote into a texture (the fast path only). */
export type MatmulOperand = DeviceArray | MatrixTexture;

export type MatmulAlgorithm = 'naive' | 'fast';

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
}

export const matmulConfig = {
  /** The algorithm used when a call does not name one; switch to 'naive' to check the fast path. */
  algorithm: 'fast' as MatmulAlgorithm,
  /**
   * Products of at least this many multiply-adds (and M > 8) use the fast kernel's 32×16 block, which runs
   * about 1.5× faster than the 8×16 one but takes LLVM about 3× longer to compile on llvmpipe (seconds).
   */
  tallMinMacs: 1 << 22,
  /**
   * Products of at least this many multiply-adds stage both operands into textures first (matmul.wgsl's TEX):
   * the copies cost far less than the faster reads save. Infinity turns it off.
   */
  textureMinMacs: 1 << 24,
  /**
   * Texture-operand products with more than 32 rows use matmul_subgroup.wgsl on devices whose subgroups are
   * always 8 lanes wide (llvmpipe): about 1.2× faster than the 32-row block there. False turns it off.
   */
  subgroups: true,
};

// Rows and columns of C per invocation of matmul.wgsl (TALL or not), and its workgroup size; measured best
// on llvmpipe.
const FAST_BLOCK_M = 8;
const FAST_BLOCK_M_TALL = 32;
const FAST_BLOCK_N = 16;
const FAST_WORKGROUP = 8;
// matmul_subgroup.wgsl: one 8-lane subgroup per workgroup computes a 64×64 block of C
const SUBGROUP_LANES = 8;
const SUBGROUP_BLOCK = 64;
// A subgroup product with fewer blocks than this and a K of at least two chunks splits K into chunks of at
// least SPLIT_K_CHUNK, run side by side and summed after (matmul_subgroup.wgsl).
const SPLIT_K_MIN_BLOCKS = 16;
const SPLIT_K_CHUNK = 1024;
const SPLIT_K_MAX = 16;
const NAIVE_WORKGROUP = 64;

export interface MatmulDims {
  M: number;
  N: number;
  K: number;
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

/**
 * Whether a product of `macs` multiply-adds over operands stored with these shapes reads them from textures:
 * producers that know this (conv's unfold) can write their matrix straight into one.
 */
export function texturesPay(engine: Engine, macs: number, ...shapes: (readonly number[])[]): boolean {
  return matmulConfig.algorithm === 'fast' && macs >= matmulConfig.textureMinMacs && shapes.every(([r, c]) => fitsTexture(engine, r, c));
}

/** C[M,N] = op(A)·op(B) for 2-D A and B (no autograd). */
export function matmulKernel(a: MatmulOperand, b: MatmulOperand, opts: MatmulOptions = {}): DeviceArray {
  const transposeA = opts.transposeA ?? false;
  const transposeB = opts.transposeB ?? false;
  const { M, N, K } = matmulDims('matmul', a.shape, b.shape, transposeA, transposeB);
  const split = opts.split;
  if (split && (N % split.s !== 0 || sizeOf(split.shape) !== M * N)) {
    throw new Error(`matmul: cannot split ${N} columns by ${split.s} into ${shapeString(split.shape)}`);
  }
  const outShape = split?.shape ?? [M, N];
  if (K === 0) return fillKernel(a.engine, outShape, 0);
  const c = DeviceArray.empty(a.engine, outShape);
  if (M === 0 || N === 0) return c;
  const algorithm = opts.algorithm ?? matmulConfig.algorithm;
  if (algorithm === 'naive') {
    if (a instanceof MatrixTexture || b instanceof MatrixTexture) throw new Error('matmul: texture operands need the fast algorithm');
    if (split) throw new Error('matmul: split output needs the fast algorithm');
    runNaive(a, b, c, { M, N, K }, transposeA, transposeB);
  } else runFast(a, b, c, { M, N, K }, transposeA, transposeB, split?.s ?? 0);
  return c;
}

function runNaive(a: DeviceArray, b: DeviceArray, c: DeviceArray, { M, N, K }: MatmulDims, transposeA: boolean, transposeB: boolean): void {
  const [aRow, aCol] = transposeA ? [1, M] : [K, 1];
  const [bRow, bCol] = transposeB ? [1, K] : [N, 1];
  a.engine.run({
    shader: 'matmul_naive',
    uniforms: new Params().u32(M, N, K, aRow, aCol, bRow, bCol).buffer,
    buffers: [a, b, c],
    workgroups: grid1d(M * N, NAIVE_WORKGROUP),
  });
}

/** `split` > 0 stores C's column blocks of that size as planes (MatmulOptions.split). */
function runFast(a: MatmulOperand, b: MatmulOperand, c: DeviceArray, { M, N, K }: MatmulDims, transposeA: boolean, transposeB: boolean, split: number): void {
  const engine = c.engine;
  const textures = a instanceof MatrixTexture || b instanceof MatrixTexture || texturesPay(engine, M * N * K, a.shape, b.shape);
  const subgroups = textures && matmulConfig.subgroups && engine.subgroupSize === SUBGROUP_LANES && M > FAST_BLOCK_M_TALL;
  const tall = !subgroups && M > FAST_BLOCK_M && M * N * K >= matmulConfig.tallMinMacs;
  const [blockM, blockN] = subgroups ? [SUBGROUP_BLOCK, SUBGROUP_BLOCK] : [tall ? FAST_BLOCK_M_TALL : FAST_BLOCK_M, FAST_BLOCK_N];
  const colBlocks = Math.ceil(N / blockN);
  const blocks = colBlocks * Math.ceil(M / blockM);
  const [aRows, aCols] = a.shape;
  const [bRows, bCols] = b.shape;
  const defines = {
    TEX: textures,
    TA: transposeA,
    TB: transposeB,
    // vec4 reads need the operand's contiguous dimension to be a multiple of 4
    VA: (transposeA ? M : K) % 4 === 0,
    VB: (transposeB ? K : N) % 4 === 0,
    VC: N % 4 === 0 && (split === 0 || split % 4 === 0),
    SPLIT: split > 0,
    TALL: tall,
    WG: FAST_WORKGROUP,
  };
  // operands not already in textures are staged for this product and released after it
  const ta = textures && !(a instanceof MatrixTexture) ? toTexture(a, aRows, aCols) : null;
  const tb = textures && !(b instanceof MatrixTexture) ? toTexture(b, bRows, bCols) : null;
  const binding = (x: MatmulOperand, staged: MatrixTexture | null) => (x instanceof MatrixTexture ? x.view : staged?.view ?? x);
  const transposes = `${transposeA ? ':TA' : ''}${transposeB ? ':TB' : ''}`;
  const dims = `${M}×${N}×${K}`;
  const uniforms = (kChunk: number) => new Params().u32(M, N, K, colBlocks, blocks, split, kChunk).buffer;
  const operands = [binding(a, ta), binding(b, tb)];
  if (subgroups) {
    const chunks = blocks < SPLIT_K_MIN_BLOCKS ? Math.min(SPLIT_K_MAX, Math.floor(K / SPLIT_K_CHUNK)) : 1;
    const kChunk = chunks > 1 ? Math.ceil(K / chunks / 4) * 4 : K;
    const partials = chunks > 1 ? DeviceArray.empty(engine, [chunks, M * N]) : c;
    engine.run({
      shader: 'matmul_subgroup',
      label: `matmul${transposes}:SUBGROUP${chunks > 1 ? `:K/${chunks}` : ''} ${dims}`,
      defines: { TA: transposeA, TB: transposeB, VC: defines.VC, SPLIT: defines.SPLIT, KTAIL: K % 4 !== 0 },
      uniforms: uniforms(kChunk),
      buffers: [...operands, partials],
      workgroups: [...grid1d(blocks, 1), Math.ceil(K / kChunk)],
    });
    if (partials !== c) {
      reduceSumKernel(partials, 1, chunks, M * N, c.shape, 1, c);
      partials.dispose();
    }
  } else {
    engine.run({
      shader: 'matmul',
      label: `matmul${transposes}${textures ? ':TEX' : ''} ${dims}`,
      defines,
      uniforms: uniforms(0),
      buffers: [...operands, c],
      workgroups: grid1d(blocks, FAST_WORKGROUP),
    });
  }
  ta?.dispose();
  tb?.dispose();
}
