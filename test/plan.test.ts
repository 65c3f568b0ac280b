// The planners without a GPU: planConv and planMatmul are pure functions of sizes and device facts, so the
// algorithm every layer of the DCGAN gets is checked here by name, on devices with and without 8-lane subgroups.
// (plan-dispatch.test.ts runs each plan name once on the GPU against float64.)
import { describe, it, expect } from 'vitest';
import { CONV_PLAN_NAMES, planConv, type ConvDirection, type ConvFacts, type ConvPlanOptions } from '../src/kernels/conv-plan.js';
import { MATMUL_PLAN_NAMES, planLabel, planMatmul, type MatmulCall, type MatmulConfig } from '../src/kernels/matmul-plan.js';
import { convGeometry } from '../src/kernels/conv-geometry.js';

/** matmulConfig's defaults, spelled out so a change to them shows up here. */
const DEFAULTS: MatmulConfig = { algorithm: 'fast', tallMinMacs: 1 << 22, textureMinMacs: 1 << 24, subgroups: true };

/** llvmpipe / lavapipe: subgroups always 8 lanes, 16384-texel textures. */
function facts(over: { subgroupSize?: number | null; maxTextureDimension2D?: number; matmul?: Partial<MatmulConfig>; conv?: 'naive' | 'fast' } = {}): ConvFacts {
  return Object.freeze({
    subgroupSize: over.subgroupSize === undefined ? 8 : over.subgroupSize,
    maxTextureDimension2D: over.maxTextureDimension2D ?? 16384,
    matmul: Object.freeze({ ...DEFAULTS, ...over.matmul }),
    conv: Object.freeze({ algorithm: over.conv ?? 'fast' }),
  });
}
const NO_SUBGROUPS = { subgroupSize: null };

type Layer = { label: string; transposed: boolean; x: number[]; w: number[]; stride: number; padding: number };

/** The DCGAN's convolutions (width 64, z 100) at batch n; a transposed layer's x is its input. */
function dcgan(n: number): Layer[] {
  return [
    { label: 'G1', transposed: true, x: [n, 100, 1, 1], w: [100, 128, 7, 7], stride: 1, padding: 0 },
    { label: 'G2', transposed: true, x: [n, 128, 7, 7], w: [128, 64, 4, 4], stride: 2, padding: 1 },
    { label: 'G3', transposed: true, x: [n, 64, 14, 14], w: [64, 1, 4, 4], stride: 2, padding: 1 },
    { label: 'D1', transposed: false, x: [n, 1, 28, 28], w: [64, 1, 4, 4], stride: 2, padding: 1 },
    { label: 'D2', transposed: false, x: [n, 64, 14, 14], w: [128, 64, 4, 4], stride: 2, padding: 1 },
    { label: 'D3', transposed: false, x: [n, 128, 7, 7], w: [1, 128, 7, 7], stride: 1, padding: 0 },
  ];
}

/** The conv2d geometry each of a layer's products is planned on (a transposed layer's is that of its output). */
function geometryOf(l: Layer) {
  if (!l.transposed) return convGeometry(l.label, l.x, l.w, l.stride, l.padding);
  const [n, , h, w] = l.x;
  const [, cout, kh, kw] = l.w;
  const out = [n, cout, (h - 1) * l.stride - 2 * l.padding + kh, (w - 1) * l.stride - 2 * l.padding + kw];
  return convGeometry(l.label, out, l.w, l.stride, l.padding);
}

/** "<conv plan> <matmul plan>" for each of the layer's three products, as the training step plans them. */
function layerPlans(l: Layer, f: ConvFacts): string[] {
  const g = geometryOf(l);
  const op = l.transposed ? 'convTranspose2d' : 'conv2d';
  // the training step's conv2d keeps its unfolded input for the weight gradient
  const options: ConvPlanOptions = l.transposed ? {} : { colBuffer: true };
  return (['forward', 'gradInput', 'gradWeight'] as const).map((d) => {
    const p = planConv(g, `${op}.${d}` as ConvDirection, f, options);
    return `${p.name} ${p.matmul?.name ?? '-'}`;
  });
}

describe('planConv on the DCGAN', () => {
  it('batch 128, 8-lane subgroups (llvmpipe)', () => {
    const got = Object.fromEntries(dcgan(128).map((l) => [l.label, layerPlans(l, facts())]));
    expect(got).toEqual({
      G1: ['convTranspose2d.forward/dense matmul/subgroup', 'convTranspose2d.gradInput/dense matmul/subgroup-splitk', 'convTranspose2d.gradWeight/dense matmul/subgroup'],
      G2: ['convTranspose2d.forward/gemm-texture matmul/subgroup', 'convTranspose2d.gradInput/gemm-texture matmul/subgroup', 'convTranspose2d.gradWeight/gemm-texture matmul/subgroup'],
      // Wᵀ·dy has only K = 1·4·4 = 16 rows: too few for the 64-row subgroup block
      G3: ['convTranspose2d.forward/gemm-texture matmul/texture-block32x16', 'convTranspose2d.gradInput/gemm-texture matmul/subgroup', 'convTranspose2d.gradWeight/gemm-texture matmul/subgroup-splitk'],
      // a forward that keeps its col writes it to a buffer; the matmul then stages it into a texture itself
      D1: ['conv2d.forward/gemm matmul/subgroup', 'conv2d.gradInput/gemm-texture matmul/texture-block32x16', 'conv2d.gradWeight/gemm-texture matmul/subgroup-splitk'],
      D2: ['conv2d.forward/gemm matmul/subgroup', 'conv2d.gradInput/gemm-texture matmul/subgroup', 'conv2d.gradWeight/gemm-texture matmul/subgroup'],
      D3: ['conv2d.forward/dense matmul/block8x16', 'conv2d.gradInput/dense matmul/block8x16', 'conv2d.gradWeight/dense matmul/block8x16'],
    });
  });

  it('batch 128 without subgroups: the 32-row register block from textures', () => {
    for (const l of dcgan(128)) {
      for (const plan of layerPlans(l, facts(NO_SUBGROUPS))) {
        expect(plan, l.label).toMatch(l.label === 'D3' ? /\/dense matmul\/block8x16$/ : / matmul\/texture-block32x16$/);
      }
    }
  });

  it('batch 1: no textures; the 32-row block only where the product is big', () => {
    for (const f of [facts(), facts(NO_SUBGROUPS)]) {
      const got = Object.fromEntries(dcgan(1).map((l) => [l.label, layerPlans(l, f)]));
      expect(got).toEqual({
        G1: ['convTranspose2d.forward/dense matmul/block8x16', 'convTranspose2d.gradInput/dense matmul/block8x16', 'convTranspose2d.gradWeight/dense matmul/block8x16'],
        G2: ['convTranspose2d.forward/gemm matmul/block32x16', 'convTranspose2d.gradInput/gemm matmul/block32x16', 'convTranspose2d.gradWeight/gemm matmul/block32x16'],
        G3: ['convTranspose2d.forward/gemm matmul/block8x16', 'convTranspose2d.gradInput/gemm matmul/block8x16', 'convTranspose2d.gradWeight/gemm matmul/block8x16'],
        D1: ['conv2d.forward/gemm matmul/block8x16', 'conv2d.gradInput/gemm matmul/block8x16', 'conv2d.gradWeight/gemm matmul/block8x16'],
        D2: ['conv2d.forward/gemm matmul/block32x16', 'conv2d.gradInput/gemm matmul/block32x16', 'conv2d.gradWeight/gemm matmul/block32x16'],
        D3: ['conv2d.forward/dense matmul/block8x16', 'conv2d.gradInput/dense matmul/block8x16', 'conv2d.gradWeight/dense matmul/block8x16'],
      });
    }
  });

  it("convConfig 'naive' (or a call's algorithm) gives the direct-loop reference for every product", () => {
    for (const l of [...dcgan(128), ...dcgan(1)]) {
      for (const plan of layerPlans(l, facts({ conv: 'naive' }))) expect(plan).toMatch(/\/naive -$/);
      const g = geometryOf(l);
      expect(planConv(g, 'conv2d.forward', facts(), { algorithm: 'naive' }).name).toBe('conv2d.forward/naive');
      expect(planConv(g, 'convTranspose2d.forward', facts({ conv: 'naive' }), { algorithm: 'fast' }).variant).not.toBe('naive');
    }
  });

  it("matmulConfig 'naive' keeps the conv's GEMM but runs the naive matmul, with no textures or split store", () => {
    const f = facts({ matmul: { algorithm: 'naive' } });
    for (const l of dcgan(128).filter((l) => !['G1', 'D3'].includes(l.label))) {
      for (const direction of ['forward', 'gradInput', 'gradWeight'] as const) {
        const p = planConv(geometryOf(l), `${l.transposed ? 'convTranspose2d' : 'conv2d'}.${direction}`, f);
        if (p.variant === 'direct') continue;
        expect(p.variant).toBe('gemm');
        expect(p.splitStore).toBe(false);
        expect(p.matmul?.name).toBe('matmul/naive');
      }
    }
  });
});

describe('planConv on awkward sizes', () => {
  const g = (x: number[], w: number[], s = 1, p = 0) => convGeometry('test', x, w, s, p);

  it('fewer than 4 output channels: direct loops for forward and weight gradient, GEMM for the input gradient', () => {
    for (const cout of [1, 2, 3]) {
      const geo = g([5, 7, 9, 9], [cout, 7, 3, 3], 2, 1);
      expect(planConv(geo, 'conv2d.forward', facts()).name).toBe('conv2d.forward/direct');
      expect(planConv(geo, 'conv2d.gradWeight', facts()).name).toBe('conv2d.gradWeight/direct');
      expect(planConv(geo, 'conv2d.gradInput', facts()).name).toBe('conv2d.gradInput/gemm');
      // a transposed conv with < 4 input channels: its forward is a GEMM, its gradients the direct loops
      expect(planConv(geo, 'convTranspose2d.forward', facts()).name).toBe('convTranspose2d.forward/gemm');
      expect(planConv(geo, 'convTranspose2d.gradInput', facts()).name).toBe('convTranspose2d.gradInput/direct');
      expect(planConv(geo, 'convTranspose2d.gradWeight', facts()).name).toBe('convTranspose2d.gradWeight/direct');
    }
    expect(planConv(g([5, 7, 9, 9], [4, 7, 3, 3]), 'conv2d.forward', facts()).variant).toBe('gemm');
  });

  it('dense only when the kernel covers the whole unpadded input, whatever the channel count', () => {
    expect(planConv(g([3, 5, 4, 6], [1, 5, 4, 6]), 'conv2d.forward', facts()).name).toBe('conv2d.forward/dense');
    expect(planConv(g([3, 5, 4, 6], [9, 5, 4, 6]), 'convTranspose2d.gradWeight', facts()).name).toBe('convTranspose2d.gradWeight/dense');
    // padded, or smaller than the input: not a dense layer
    expect(planConv(g([3, 5, 4, 6], [9, 5, 4, 6], 1, 1), 'conv2d.forward', facts()).variant).toBe('gemm');
    expect(planConv(g([3, 5, 4, 6], [9, 5, 4, 5]), 'conv2d.forward', facts()).variant).toBe('gemm');
    expect(planConv(g([3, 5, 4, 6], [9, 5, 4, 6]), 'conv2d.forward', facts({ conv: 'naive' })).variant).toBe('naive');
  });

  it('gemm-texture needs the multiply-adds and every operand to fit a texture', () => {
    const geo = g([128, 64, 14, 14], [128, 64, 4, 4], 2, 1); // K = 1024, M = 6272 (1568 texels wide)
    expect(planConv(geo, 'conv2d.gradInput', facts()).variant).toBe('gemm-texture');
    expect(planConv(geo, 'conv2d.gradInput', facts({ maxTextureDimension2D: 1568 })).variant).toBe('gemm-texture');
    expect(planConv(geo, 'conv2d.gradInput', facts({ maxTextureDimension2D: 1567 })).variant).toBe('gemm');
    expect(planConv(geo, 'conv2d.gradInput', facts({ matmul: { textureMinMacs: Infinity } })).variant).toBe('gemm');
    expect(planConv(g([2, 3, 5, 5], [4, 3, 3, 3]), 'conv2d.gradWeight', facts({ matmul: { textureMinMacs: 0 } })).variant).toBe('gemm-texture');
  });

  it('the forward GEMM stores NCHW itself only without bias and with OH·OW a multiple of 4', () => {
    const even = g([2, 3, 6, 6], [5, 3, 3, 3], 1, 1); // 6×6 output
    const odd = g([2, 3, 5, 5], [5, 3, 3, 3], 1, 1); // 5×5 output
    expect(planConv(even, 'conv2d.forward', facts()).splitStore).toBe(true);
    expect(planConv(even, 'conv2d.forward', facts(), { bias: true }).splitStore).toBe(false);
    expect(planConv(odd, 'conv2d.forward', facts()).splitStore).toBe(false);
    expect(planConv(even, 'convTranspose2d.gradInput', facts()).splitStore).toBe(true);
    expect(planConv(even, 'conv2d.gradWeight', facts()).splitStore).toBe(false);
  });

  it('is pure: the same arguments give equal plans, and the facts are only read', () => {
    const geo = g([7, 5, 11, 13], [6, 5, 3, 2], 2, 1);
    const f = facts({ matmul: { textureMinMacs: 0 } }); // frozen: a write would throw
    for (const direction of ['conv2d.forward', 'conv2d.gradInput', 'conv2d.gradWeight', 'convTranspose2d.forward', 'convTranspose2d.gradInput', 'convTranspose2d.gradWeight'] as const) {
      expect(planConv(geo, direction, f)).toEqual(planConv(geo, direction, f));
    }
  });

  it('plan names are <op>.<direction>/<variant>; no conv-transpose plan is named after a gradient of conv2d', () => {
    expect(CONV_PLAN_NAMES).toHaveLength(6 * 5 - 2);
    for (const name of CONV_PLAN_NAMES) expect(name).toMatch(/^(conv2d|convTranspose2d)\.(forward|gradInput|gradWeight)\/(naive|direct|dense|gemm|gemm-texture)$/);
    expect(planLabel('convTranspose2d.forward/gemm-texture')).toBe('convTranspose2d.forward[gemm-texture]');
  });
});

describe('planMatmul', () => {
  const call = (over: Partial<MatmulCall> & { M: number; N: number; K: number }): [{ M: number; N: number; K: number }, MatmulCall] => {
    const { M, N, K, ...rest } = over;
    const transposeA = rest.transposeA ?? false;
    const transposeB = rest.transposeB ?? false;
    return [{ M, N, K }, {
      a: { shape: transposeA ? [K, M] : [M, K], texture: false },
      b: { shape: transposeB ? [N, K] : [K, N], texture: false },
      transposeA, transposeB, split: 0, ...rest,
    }];
  };
  const name = (over: Parameters<typeof call>[0], f = facts()) => planMatmul(...call(over), f).name;

  it('picks by size: 8-row block, 32-row block, textures, subgroups', () => {
    expect(name({ M: 128, N: 10, K: 784 })).toBe('matmul/block8x16');
    expect(name({ M: 256, N: 128, K: 128 })).toBe('matmul/block32x16'); // 2²² multiply-adds
    expect(name({ M: 8, N: 4096, K: 4096 })).toBe('matmul/texture-block8x16'); // 8 rows: no taller block pays
    expect(name({ M: 32, N: 1024, K: 1024 })).toBe('matmul/texture-block32x16'); // too few rows for subgroups
    expect(name({ M: 33, N: 1024, K: 1024 })).toBe('matmul/subgroup');
    expect(name({ M: 33, N: 1024, K: 1024 }, facts(NO_SUBGROUPS))).toBe('matmul/texture-block32x16');
    expect(name({ M: 33, N: 1024, K: 1024 }, facts({ subgroupSize: 16 }))).toBe('matmul/texture-block32x16');
    expect(name({ M: 33, N: 1024, K: 1024 }, facts({ matmul: { subgroups: false } }))).toBe('matmul/texture-block32x16');
    expect(name({ M: 33, N: 1024, K: 1024 }, facts({ maxTextureDimension2D: 255 }))).toBe('matmul/block32x16');
  });

  it('a texture operand puts any product on the texture path', () => {
    const [dims, c] = call({ M: 3, N: 5, K: 7 });
    const p = planMatmul(dims, { ...c, b: { ...c.b, texture: true } }, facts());
    expect(p.name).toBe('matmul/texture-block8x16');
    expect(p).toMatchObject({ stageA: true, stageB: false });
  });

  it('split K when the subgroup blocks are few and K is long', () => {
    const p = planMatmul(...call({ M: 40, N: 12, K: 4099, transposeA: true }), facts({ matmul: { textureMinMacs: 0 } }));
    expect(p).toMatchObject({ name: 'matmul/subgroup-splitk', splitK: 4, kChunk: 1028, blocks: 1 });
    // K under two chunks, or 16 blocks or more: no split
    expect(name({ M: 40, N: 12, K: 2047 }, facts({ matmul: { textureMinMacs: 0 } }))).toBe('matmul/subgroup');
    expect(name({ M: 256, N: 256, K: 4096 })).toBe('matmul/subgroup');
    // at most 16 chunks (B stored [N, K]: [K, N] would be taller than a texture)
    expect(planMatmul(...call({ M: 40, N: 12, K: 40000, transposeB: true }), facts({ matmul: { textureMinMacs: 0 } }))).toMatchObject({ splitK: 16 });
  });

  it('vec4 loads and stores follow the contiguous dimensions', () => {
    const p = planMatmul(...call({ M: 12, N: 20, K: 7 }), facts());
    expect(p).toMatchObject({ vec4: { a: false, b: true, c: true } });
    const t = planMatmul(...call({ M: 12, N: 20, K: 7, transposeA: true, split: 10 }), facts());
    expect(t).toMatchObject({ vec4: { a: true, b: true, c: false } });
  });

  it('empty products and the naive algorithm', () => {
    expect(name({ M: 3, N: 4, K: 0 })).toBe('matmul/zero-k');
    expect(name({ M: 0, N: 4, K: 2 })).toBe('matmul/empty');
    expect(name({ M: 3, N: 0, K: 2 })).toBe('matmul/empty');
    expect(name({ M: 500, N: 500, K: 500 }, facts({ matmul: { algorithm: 'naive' } }))).toBe('matmul/naive');
    expect(name({ M: 500, N: 500, K: 500, algorithm: 'naive' })).toBe('matmul/naive');
    const [dims, c] = call({ M: 3, N: 5, K: 7, algorithm: 'naive' });
    expect(() => planMatmul(dims, { ...c, a: { ...c.a, texture: true } }, facts())).toThrow(/texture operands need the fast algorithm/);
    expect(() => planMatmul(dims, { ...c, split: 5 }, facts())).toThrow(/split output needs the fast algorithm/);
  });

  it('names every plan it can return', () => {
    expect(new Set(MATMUL_PLAN_NAMES).size).toBe(9);
    expect(planLabel('matmul/subgroup-splitk')).toBe('matmul[subgroup-splitk]');
  });
});
