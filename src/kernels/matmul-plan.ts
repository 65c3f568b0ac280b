// The one place that picks a matmul algorithm. planMatmul is pure (no GPU, no engine): it reads the product's
// sizes, where its operands live, and a few device facts and thresholds, and returns a named plan that
// matmul.ts dispatches. The plans, from slowest to fastest on llvmpipe:
//   matmul/naive                one output per invocation (matmul_naive.wgsl): the reference
//   matmul/block8x16            an 8×16 register block of C per invocation (matmul.wgsl)
//   matmul/block32x16           the TALL 32×16 block, for big products (≥ tallMinMacs)
//   matmul/texture-block…       the same blocks reading operands from textures (≥ textureMinMacs)
//   matmul/subgroup             a 64×64 block per 8-lane subgroup, texture operands (matmul_subgroup.wgsl)
//   matmul/subgroup-splitk      the same with K cut into chunks run side by side and summed after
// plus matmul/zero-k (K = 0: C is zeros) and matmul/empty (M or N = 0: nothing to run).

export type MatmulAlgorithm = 'naive' | 'fast';

/** What the planners need to know about the device (read from an engine by matmul.ts's deviceFacts). */
export interface DeviceFacts {
  /** The device's subgroup width when it is fixed, else null. */
  subgroupSize: number | null;
  /** GPUSupportedLimits.maxTextureDimension2D. */
  maxTextureDimension2D: number;
}

/** The thresholds and switches of matmulConfig (see there). */
export interface MatmulConfig {
  algorithm: MatmulAlgorithm;
  tallMinMacs: number;
  textureMinMacs: number;
  subgroups: boolean;
}

export interface MatmulFacts extends DeviceFacts {
  matmul: MatmulConfig;
}

export const matmulConfig: MatmulConfig = {
  /** The algorithm used when a call does not name one; switch to 'naive' to check the fast path. */
  algorithm: 'fast',
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
export const FAST_WORKGROUP = 8;
// matmul_subgroup.wgsl: one 8-lane subgroup per workgroup computes a 64×64 block of C
const SUBGROUP_LANES = 8;
const SUBGROUP_BLOCK = 64;
// A subgroup product with fewer blocks than this and a K of at least two chunks splits K into chunks of at
// least SPLIT_K_CHUNK, run side by side and summed after (matmul_subgroup.wgsl).
const SPLIT_K_MIN_BLOCKS = 16;
const SPLIT_K_CHUNK = 1024;
const SPLIT_K_MAX = 16;

export interface MatmulDims {
  M: number;
  N: number;
  K: number;
}

/** One operand as the planner sees it: its stored shape, and whether a producer already wrote it into a texture. */
export interface OperandFacts {
  shape: readonly number[];
  texture: boolean;
}

/** The call being planned. `split` > 0 stores C's column blocks of that size as planes (MatmulOptions.split). */
export interface MatmulCall {
  a: OperandFacts;
  b: OperandFacts;
  transposeA: boolean;
  transposeB: boolean;
  split: number;
  /** Overrides facts.matmul.algorithm. */
  algorithm?: MatmulAlgorithm;
}

interface Named<V extends string> {
  name: `matmul/${V}`;
  variant: V;
}

/** The register-block and subgroup kernels' common fields. */
interface Blocked {
  /** Operands read from textures; `stageA`/`stageB`: copied into one for this product (not already there). */
  textures: boolean;
  stageA: boolean;
  stageB: boolean;
  blockM: number;
  blockN: number;
  /** Blocks of C along N, and in all. */
  colBlocks: number;
  blocks: number;
  /** vec4 loads of A and B (their contiguous dimension is a multiple of 4) and vec4 stores of C. */
  vec4: { a: boolean; b: boolean; c: boolean };
}

export type RegisterBlockVariant = 'block8x16' | 'block32x16' | 'texture-block8x16' | 'texture-block32x16';

export type MatmulPlan =
  | Named<'zero-k'>
  | Named<'empty'>
  | Named<'naive'>
  | (Named<RegisterBlockVariant> & Blocked & { kernel: 'matmul'; tall: boolean })
  | (Named<'subgroup' | 'subgroup-splitk'> & Blocked & {
    kernel: 'matmul_subgroup';
    /** K is cut into this many chunks of kChunk (a multiple of 4 unless it is all of K). */
    splitK: number;
    kChunk: number;
  });

export type MatmulPlanName = MatmulPlan['name'];

/** Every plan planMatmul can return, for tests that run each once. */
export const MATMUL_PLAN_NAMES: readonly MatmulPlanName[] = [
  'matmul/zero-k', 'matmul/empty', 'matmul/naive', 'matmul/block8x16', 'matmul/block32x16',
  'matmul/texture-block8x16', 'matmul/texture-block32x16', 'matmul/subgroup', 'matmul/subgroup-splitk',
];

/** Whether a [rows, cols] matrix fits one texture of ceil(cols/4) × rows texels on a device with this side. */
export function fitsTextureSide(side: number, rows: number, cols: number): boolean {
  return rows <= side && Math.ceil(cols / 4) <= side;
}

/**
 * Whether a product of `macs` multiply-adds over operands stored with these shapes reads them from textures:
 * producers that know this (conv's unfold) can write their matrix straight into one.
 */
export function texturesPay(facts: MatmulFacts, macs: number, ...shapes: (readonly number[])[]): boolean {
  return facts.matmul.algorithm === 'fast' && macs >= facts.matmul.textureMinMacs &&
    shapes.every(([r, c]) => fitsTextureSide(facts.maxTextureDimension2D, r, c));
}

/** The plan's label in dispatch labels and profiles: 'matmul/subgroup' → 'matmul[subgroup]'. */
export function planLabel(name: string): string {
  const at = name.indexOf('/');
  return at < 0 ? name : `${name.slice(0, at)}[${name.slice(at + 1)}]`;
}

/**
 * The plan for C [M, N] = op(A)·op(B) with these operands on a device with these facts.
 * Throws when the call asks the naive algorithm for what only the fast one does (texture operands, split).
 */
export function planMatmul({ M, N, K }: MatmulDims, call: MatmulCall, facts: MatmulFacts): MatmulPlan {
  if (K === 0) return { name: 'matmul/zero-k', variant: 'zero-k' };
  if (M === 0 || N === 0) return { name: 'matmul/empty', variant: 'empty' };
  const algorithm = call.algorithm ?? facts.matmul.algorithm;
  if (algorithm === 'naive') {
    if (call.a.texture || call.b.texture) throw new Error('matmul: texture operands need the fast algorithm');
    if (call.split > 0) throw new Error('matmul: split output needs the fast algorithm');
    return { name: 'matmul/naive', variant: 'naive' };
  }
  const macs = M * N * K;
  const textures = call.a.texture || call.b.texture || texturesPay(facts, macs, call.a.shape, call.b.shape);
  const subgroups = textures && facts.matmul.subgroups && facts.subgroupSize === SUBGROUP_LANES && M > FAST_BLOCK_M_TALL;
  const tall = !subgroups && M > FAST_BLOCK_M && macs >= facts.matmul.tallMinMacs;
  const [blockM, blockN] = subgroups ? [SUBGROUP_BLOCK, SUBGROUP_BLOCK] : [tall ? FAST_BLOCK_M_TALL : FAST_BLOCK_M, FAST_BLOCK_N];
  const colBlocks = Math.ceil(N / blockN);
  const blocked: Blocked = {
    textures,
    stageA: textures && !call.a.texture,
    stageB: textures && !call.b.texture,
    blockM,
    blockN,
    colBlocks,
    blocks: colBlocks * Math.ceil(M / blockM),
    vec4: {
      a: (call.transposeA ? M : K) % 4 === 0,
      b: (call.transposeB ? K : N) % 4 === 0,
      c: N % 4 === 0 && (call.split === 0 || call.split % 4 === 0),
    },
  };
  if (subgroups) {
    const splitK = blocked.blocks < SPLIT_K_MIN_BLOCKS ? Math.max(1, Math.min(SPLIT_K_MAX, Math.floor(K / SPLIT_K_CHUNK))) : 1;
    const kChunk = splitK > 1 ? Math.ceil(K / splitK / 4) * 4 : K;
    return splitK > 1
      ? { name: 'matmul/subgroup-splitk', variant: 'subgroup-splitk', kernel: 'matmul_subgroup', ...blocked, splitK, kChunk }
      : { name: 'matmul/subgroup', variant: 'subgroup', kernel: 'matmul_subgroup', ...blocked, splitK: 1, kChunk };
  }
  const variant: RegisterBlockVariant = `${textures ? 'texture-' : ''}block${tall ? 32 : 8}x16`;
  return { name: `matmul/${variant}`, variant, kernel: 'matmul', ...blocked, tall };
}
