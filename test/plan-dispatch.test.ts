// Every plan name planConv and planMatmul can return is a real dispatch: each is run once on small data (with
// the config set so the planner picks it), its dispatches carry the plan's label, and the result matches the
// float64 reference.
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import type { DispatchRecord, Engine } from '../src/runtime/engine.js';
import type { DeviceArray } from '../src/runtime/storage.js';
import { Tensor } from '../src/tensor/tensor.js';
import { tidy } from '../src/tensor/autograd.js';
import { getEngine, randomArray, toGpu, expectClose } from './helpers.js';
import { conv2dRef, convTransposeRef, expectNear, matmulRef } from './reference.js';
import {
  conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel, convFacts, convTranspose2dBackwardKernel, convTranspose2dKernel,
} from '../src/kernels/conv.js';
import { CONV_PLAN_NAMES, convConfig, planConv, type ConvDirection, type ConvPlan } from '../src/kernels/conv-plan.js';
import { matmulKernel, matmulPlanOf } from '../src/kernels/matmul.js';
import { MATMUL_PLAN_NAMES, matmulConfig, planLabel, type MatmulConfig } from '../src/kernels/matmul-plan.js';
import { convGeometry } from '../src/kernels/conv-geometry.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

const matmulDefaults = { ...matmulConfig };
const convDefaults = { ...convConfig };
afterEach(() => {
  Object.assign(matmulConfig, matmulDefaults);
  Object.assign(convConfig, convDefaults);
});

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Runs f with every dispatch recorded; returns f's arrays read back and the dispatch labels. */
async function recorded(f: () => DeviceArray): Promise<{ value: Float32Array; labels: string[] }> {
  const records: DispatchRecord[] = [];
  engine.profile = records;
  let out: Tensor;
  try {
    out = tidy(engine, () => Tensor.adopt(f()));
  } finally {
    engine.profile = null;
  }
  const value = await out.toArray();
  out.dispose();
  return { value, labels: records.map((r) => r.label) };
}

/** The conv plan's label starts some dispatch label, and so does its matmul's under it. */
function expectLabels(labels: string[], plan: ConvPlan): void {
  const own = planLabel(plan.name);
  expect(labels.some((l) => l.startsWith(`${own}:`)), `${own} in ${labels.join(', ')}`).toBe(true);
  if (plan.matmul && plan.matmul.variant !== 'zero-k' && plan.matmul.variant !== 'empty') {
    const nested = `${own}:${planLabel(plan.matmul.name)}`;
    expect(labels.some((l) => l.startsWith(nested)), `${nested} in ${labels.join(', ')}`).toBe(true);
  }
}

// One conv-transpose / conv pair per variant: x [N, Cin, H, W] and w of conv2d [Cout, Cin, kH, kW] (a
// conv-transpose2d reads the same w as [Cin_T = Cout, Cout_T = Cin, kH, kW] and maps the conv's output back).
interface Setup {
  variant: ConvPlan['variant'];
  x: number[];
  w: number[];
  stride: number;
  padding: number;
  config?: { conv?: 'naive'; matmul?: Partial<MatmulConfig> };
}
const SETUPS: Setup[] = [
  { variant: 'naive', x: [2, 5, 7, 7], w: [6, 5, 3, 3], stride: 2, padding: 1, config: { conv: 'naive' } },
  { variant: 'direct', x: [2, 5, 7, 7], w: [3, 5, 3, 3], stride: 2, padding: 1 },
  { variant: 'dense', x: [3, 5, 3, 2], w: [6, 5, 3, 2], stride: 1, padding: 0 },
  { variant: 'gemm', x: [2, 5, 7, 7], w: [6, 5, 3, 3], stride: 2, padding: 1 },
  // 40 output channels: the texture operands then go through the subgroup block where the device has one
  { variant: 'gemm-texture', x: [3, 7, 9, 8], w: [40, 7, 3, 3], stride: 1, padding: 1, config: { matmul: { textureMinMacs: 0 } } },
];

describe('each conv plan runs and matches float64', () => {
  const directions: ConvDirection[] = ['conv2d.forward', 'conv2d.gradInput', 'conv2d.gradWeight', 'convTranspose2d.forward', 'convTranspose2d.gradInput', 'convTranspose2d.gradWeight'];
  const covered = new Set<string>();
  for (const setup of SETUPS) {
    for (const direction of directions) {
      const name = `${direction}/${setup.variant}`;
      if (!CONV_PLAN_NAMES.includes(name as ConvPlan['name'])) continue; // gradInput products have no 'direct'
      covered.add(name);
      it(name, async () => {
        if (setup.config?.conv) convConfig.algorithm = setup.config.conv;
        Object.assign(matmulConfig, setup.config?.matmul ?? {});
        const transposed = direction.startsWith('convTranspose2d');
        const { x: xs, w: ws, stride, padding } = setup;
        const g = convGeometry('test', xs, ws, stride, padding);
        const ys = [g.n, g.cout, g.oh, g.ow];
        const plan = planConv(g, direction, convFacts(engine), { bias: direction === 'conv2d.forward' });
        expect(plan.name).toBe(name);
        const seed = xs.length + ws[0];
        // conv2d: input x, output y; conv-transpose2d: input tx (= the conv's y shape), output ty (= x shape)
        const [a, w, b] = [randomArray(prod(transposed ? ys : xs), seed), randomArray(prod(ws), seed + 1), randomArray(transposed ? xs[1] : ws[0], seed + 2)];
        const dOut = randomArray(prod(transposed ? xs : ys), seed + 3);
        const opts = { stride, padding };
        const gpu = (data: Float64Array, shape: number[]) => toGpu(engine, data, shape);
        let run: () => DeviceArray;
        let want: Float64Array;
        if (!transposed) {
          const ref = conv2dRef(a, xs, w, ws, b, dOut, stride, padding);
          if (direction === 'conv2d.forward') [run, want] = [() => conv2dKernel(gpu(a, xs), gpu(w, ws), gpu(b, [ws[0]]), opts), ref.y];
          else if (direction === 'conv2d.gradInput') [run, want] = [() => conv2dGradInputKernel(gpu(dOut, ys), gpu(w, ws), xs, opts), ref.dx];
          else [run, want] = [() => conv2dGradWeightKernel(gpu(a, xs), gpu(dOut, ys), ws, opts), ref.dw];
        } else {
          const outputPadding = xs[2] - ((g.oh - 1) * stride - 2 * padding + ws[2]);
          const ref = convTransposeRef(a, ys, w, ws, b, dOut, stride, padding, outputPadding);
          expect([ref.oh, ref.ow]).toEqual([xs[2], xs[3]]);
          const both = (input: boolean) => convTranspose2dBackwardKernel(gpu(a, ys), gpu(w, ws), gpu(dOut, xs), { ...opts, input, weight: !input });
          if (direction === 'convTranspose2d.forward') [run, want] = [() => convTranspose2dKernel(gpu(a, ys), gpu(w, ws), xs, { ...opts, bias: gpu(b, [xs[1]]) }), ref.y];
          else if (direction === 'convTranspose2d.gradInput') [run, want] = [() => both(true).dx!, ref.dx];
          else [run, want] = [() => both(false).dw!, ref.dw];
        }
        const { value, labels } = await recorded(run);
        expectLabels(labels, plan);
        expectNear(value, want, name);
      });
    }
  }
  it('covers every conv plan name', () => {
    expect([...covered].sort()).toEqual([...CONV_PLAN_NAMES].sort());
  });
});

describe('each matmul plan runs and matches float64', () => {
  // [plan, M, K, N, transposeA, transposeB, config]
  const cases: [string, number, number, number, boolean, boolean, Partial<MatmulConfig>][] = [
    ['matmul/zero-k', 3, 0, 4, false, false, {}],
    ['matmul/empty', 0, 5, 4, false, false, {}],
    ['matmul/naive', 13, 17, 19, true, false, { algorithm: 'naive' }],
    ['matmul/block8x16', 13, 17, 19, false, true, {}],
    ['matmul/block32x16', 37, 29, 45, true, true, { tallMinMacs: 0 }],
    ['matmul/texture-block8x16', 7, 33, 5, true, false, { textureMinMacs: 0 }],
    ['matmul/texture-block32x16', 21, 6, 11, false, false, { textureMinMacs: 0, tallMinMacs: 0 }],
    ['matmul/subgroup', 70, 36, 40, false, true, { textureMinMacs: 0 }],
    ['matmul/subgroup-splitk', 40, 2100, 12, true, false, { textureMinMacs: 0 }],
  ];
  for (const [name, M, K, N, ta, tb, config] of cases) {
    it(name, async (ctx) => {
      if (name.startsWith('matmul/subgroup') && engine.subgroupSize !== 8) ctx.skip(); // needs 8-lane subgroups
      Object.assign(matmulConfig, config);
      const a = randomArray(M * K, M + K);
      const b = randomArray(K * N, K + N);
      const [as, bs] = [ta ? [K, M] : [M, K], tb ? [N, K] : [K, N]];
      const opts = { transposeA: ta, transposeB: tb, label: 'test' };
      const plan = tidy(engine, () => matmulPlanOf(toGpu(engine, a, as), toGpu(engine, b, bs), opts));
      expect(plan.name).toBe(name);
      const { value, labels } = await recorded(() => matmulKernel(toGpu(engine, a, as), toGpu(engine, b, bs), opts));
      if (plan.variant !== 'zero-k' && plan.variant !== 'empty') {
        expect(labels.some((l) => l.startsWith(`test:${planLabel(name)}`)), labels.join(', ')).toBe(true);
      }
      expectClose(value, matmulRef(a, b, M, K, N, ta, tb), 2e-6 * Math.sqrt(K) + 1e-6, 1, name);
    });
  }
  it('covers every matmul plan name', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual([...MATMUL_PLAN_NAMES].sort());
  });
});
