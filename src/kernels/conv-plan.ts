// The one place that picks a conv algorithm. planConv is pure (no GPU, no engine): from a conv's geometry, the
// product wanted and a few device facts it returns a named plan that conv.ts dispatches. Plans are named
// `<op>.<direction>/<variant>`, e.g. 'conv2d.forward/gemm-texture' or 'convTranspose2d.forward/dense', and
// label every dispatch they make as `<op>.<direction>[<variant>]:…` (bench --profile shows these labels).
//
// Variants:
//   naive         the direct-loop shaders (conv-naive.ts): convConfig.algorithm = 'naive', the reference
//   direct        the same shaders chosen by the fast path, where a GEMM over the output channels would be
//                 mostly padding (fewer than 4 channels)
//   dense         the kernel covers the whole unpadded input: a single matmul on the NCHW storage (conv-dense.ts)
//   gemm          im2col / channel-major copies into buffers, then a matmul (conv-fast.ts)
//   gemm-texture  the same with those copies written straight into textures the matmul reads
import type { ConvAlgorithm, ConvGeometry } from './conv-geometry.js';
import { planMatmul, texturesPay, type MatmulCall, type MatmulFacts, type MatmulPlan } from './matmul-plan.js';

export const convConfig = {
  /** The algorithm used when a call does not name one; switch to 'naive' to check the fast path. */
  algorithm: 'fast' as ConvAlgorithm,
};

export interface ConvFacts extends MatmulFacts {
  conv: { algorithm: ConvAlgorithm };
}

/**
 * Which product of which op. A conv-transpose2d is computed as products of the conv2d it transposes (geometry
 * g below): its forward is that conv's input gradient, its input gradient that conv's forward (dy by w), and
 * its weight gradient that conv's weight gradient with x as the output gradient.
 */
export type ConvDirection =
  | 'conv2d.forward' | 'conv2d.gradInput' | 'conv2d.gradWeight'
  | 'convTranspose2d.forward' | 'convTranspose2d.gradInput' | 'convTranspose2d.gradWeight';

export type ConvVariant = 'naive' | 'direct' | 'dense' | 'gemm' | 'gemm-texture';

/** The product of conv2d geometry g a plan computes: y = conv(x, w), dx, or dw. */
export type ConvProduct = 'forward' | 'gradInput' | 'gradWeight';

export const CONV_PRODUCT: Record<ConvDirection, ConvProduct> = {
  'conv2d.forward': 'forward',
  'conv2d.gradInput': 'gradInput',
  'conv2d.gradWeight': 'gradWeight',
  'convTranspose2d.forward': 'gradInput',
  'convTranspose2d.gradInput': 'forward',
  'convTranspose2d.gradWeight': 'gradWeight',
};

export interface ConvPlanOptions {
  /** Overrides facts.conv.algorithm (ConvOptions.algorithm). */
  algorithm?: ConvAlgorithm;
  /** A bias is added (forward products: the GEMM then can't store NCHW itself). */
  bias?: boolean;
  /**
   * The unfolded input lives in a buffer: a conv2d forward keeps it for the weight gradient (saveCol), or a
   * weight gradient is given the forward's (col).
   */
  colBuffer?: boolean;
}

export interface ConvPlan {
  name: `${ConvDirection}/${ConvVariant}`;
  direction: ConvDirection;
  variant: ConvVariant;
  product: ConvProduct;
  /** gemm-texture: the im2col and channel-major operands this op makes are written into textures. */
  textures: boolean;
  /** Forward-product GEMMs: the matmul stores C NCHW itself (MatmulOptions.split), else a swap01 follows. */
  splitStore: boolean;
  /** dense and gemm: the plan of the product's matmul (as planMatmul will make it when dispatched). */
  matmul: MatmulPlan | null;
}

/** Every plan name planConv can return (gradInput products never take 'direct'), for tests that run each once. */
export const CONV_PLAN_NAMES: readonly ConvPlan['name'][] = (Object.keys(CONV_PRODUCT) as ConvDirection[]).flatMap((direction) =>
  (['naive', 'direct', 'dense', 'gemm', 'gemm-texture'] as const)
    .filter((variant) => variant !== 'direct' || CONV_PRODUCT[direction] !== 'gradInput')
    .map((variant) => `${direction}/${variant}` as const));

/** A conv whose kernel covers its whole unpadded input has a 1×1 output: a dense layer (conv-dense.ts). */
export const coversInput = (g: ConvGeometry) => g.pad === 0 && g.kh === g.h && g.kw === g.w;

const kSize = (g: ConvGeometry) => g.cin * g.kh * g.kw;
const mSize = (g: ConvGeometry) => g.n * g.oh * g.ow;

/**
 * The GEMM path over the output channels (forward and weight gradient) computes blocks of at least 8 rows, so
 * with fewer than 4 channels most of its work is padding and the direct kernel wins (measured on a 128→1 k7
 * conv: forward 2 ms vs 10 ms, weight gradient 9 ms vs 22 ms).
 */
const MIN_GEMM_CHANNELS = 4;

/** Whether this conv's GEMMs (all three have Cout·K·M multiply-adds) read operands from textures. */
function gemmTextures(g: ConvGeometry, facts: MatmulFacts): boolean {
  const [k, m] = [kSize(g), mSize(g)];
  return texturesPay(facts, g.cout * k * m, [k, m], [g.cout, m], [g.cout, k]);
}

const operand = (shape: number[], texture = false) => ({ shape, texture });

/** The matmul of a dense plan: NCHW storage read as x [N, K], y [N, Cout], w [Cout, K]. */
function denseCall(g: ConvGeometry, product: ConvProduct): MatmulCall {
  const [x, y, w] = [operand([g.n, kSize(g)]), operand([g.n, g.cout]), operand([g.cout, kSize(g)])];
  if (product === 'forward') return { a: x, b: w, transposeA: false, transposeB: true, split: 0 };
  if (product === 'gradInput') return { a: y, b: w, transposeA: false, transposeB: false, split: 0 };
  return { a: y, b: x, transposeA: true, transposeB: false, split: 0 };
}

/** The matmul of a GEMM plan: col [K, M] and the channel-major dy [Cout, M] (conv-fast.ts). */
function gemmCall(g: ConvGeometry, product: ConvProduct, textures: boolean, splitStore: boolean, colBuffer: boolean): MatmulCall {
  const [k, m] = [kSize(g), mSize(g)];
  const w = operand([g.cout, k]);
  const col = operand([k, m], textures && !colBuffer);
  const dyCM = operand([g.cout, m], textures);
  if (product === 'forward') return { a: w, b: col, transposeA: false, transposeB: false, split: splitStore ? g.oh * g.ow : 0 };
  if (product === 'gradInput') return { a: w, b: dyCM, transposeA: true, transposeB: false, split: 0 };
  return { a: dyCM, b: col, transposeA: false, transposeB: true, split: 0 };
}

/**
 * The plan for one product of a conv of geometry g (see ConvDirection), on a device with these facts.
 * Pure: the same arguments give the same plan.
 */
export function planConv(g: ConvGeometry, direction: ConvDirection, facts: ConvFacts, options: ConvPlanOptions = {}): ConvPlan {
  const product = CONV_PRODUCT[direction];
  const algorithm = options.algorithm ?? facts.conv.algorithm;
  const plan = (variant: ConvVariant, rest: Partial<ConvPlan> = {}): ConvPlan => ({
    name: `${direction}/${variant}`, direction, variant, product, textures: false, splitStore: false, matmul: null, ...rest,
  });
  if (algorithm === 'naive') return plan('naive');
  if (coversInput(g)) {
    const call = denseCall(g, product);
    return plan('dense', { matmul: planMatmul(dims(call), call, facts) });
  }
  if (product !== 'gradInput' && g.cout < MIN_GEMM_CHANNELS) return plan('direct');
  const colBuffer = options.colBuffer ?? false;
  // a forward that keeps its unfolded input writes it to a buffer: its only operand of its own making
  const textures = gemmTextures(g, facts) && !(product === 'forward' && colBuffer);
  // the product stores itself NCHW only with vec4 stores (scalar split stores measured slower than the
  // separate swap, in a version that divided per element)
  const splitStore = product === 'forward' && !options.bias && facts.matmul.algorithm === 'fast' && (g.oh * g.ow) % 4 === 0;
  const call = gemmCall(g, product, textures, splitStore, colBuffer);
  return plan(textures ? 'gemm-texture' : 'gemm', { textures, splitStore, matmul: planMatmul(dims(call), call, facts) });
}

/** M, N, K of a call (the shapes are consistent by construction). */
function dims({ a, b, transposeA, transposeB }: MatmulCall): { M: number; N: number; K: number } {
  const [M, K] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const N = transposeB ? b.shape[0] : b.shape[1];
  return { M, N, K };
}
