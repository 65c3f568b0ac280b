// The GEMM formulation of conv (plans 'gemm' and 'gemm-texture', conv-plan.ts): im2col turns x into
// col [K = Cin·kH·kW, M = N·OH·OW] so that
//   forward      y[Cout, M]  = W[Cout, K] · col            (then [C, N, HW] → [N, C, HW], bias added there)
//   grad-input   dcol[K, M]  = Wᵀ · dy[Cout, M]            (then col2im gathers dcol back onto dx)
//   grad-weight  dW[Cout, K] = dy[Cout, M] · colᵀ
// with dy[Cout, M] the channel-major copy of the NCHW gradient. The pieces are exported separately so the
// backward passes can share an im2col or a channel-major dy between the two gradients. Under a gemm-texture
// plan, unfold() and channelMajorOperand() write col and dy straight into textures, so one pass makes each
// operand for both products. Every dispatch is labelled with the plan's label.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import { contiguousCopy } from '../runtime/contiguous.js';
import { sizeOf, type Shape } from '../runtime/shape.js';
import { matmulKernel, type MatmulOperand } from './matmul.js';
import { planLabel } from './matmul-plan.js';
import { channelMajorTexture, matrixTexture, type MatrixTexture } from './texture.js';
import { convConstants, labelled, type ConvGeometry } from './conv-geometry.js';
import type { ConvPlan } from './conv-plan.js';

/** t's values as `shape`: a new header over t's storage, or a contiguous copy when t is a strided view. Dispose it. */
export function viewAs(t: DeviceArray, shape: Shape): DeviceArray {
  if (t.isContiguous) return DeviceArray.view(t, shape);
  const copy = contiguousCopy(t);
  const view = DeviceArray.view(copy, shape);
  copy.dispose();
  return view;
}

const kSize = (g: ConvGeometry) => g.cin * g.kh * g.kw;
const mSize = (g: ConvGeometry) => g.n * g.oh * g.ow;

/** col [K, M] as a tensor. */
export function im2col(x: DeviceArray, g: ConvGeometry, label?: string): DeviceArray {
  const [k, m] = [kSize(g), mSize(g)];
  const col = DeviceArray.empty(x.engine, [k, m]);
  x.engine.run({
    shader: 'im2col', label: labelled(label, 'im2col'), defines: { VEC4: m % 4 === 0 }, constants: convConstants(g),
    buffers: [x, col], workgroups: grid1d(k * Math.ceil(m / 4), 64),
  });
  return col;
}

function im2colTexture(x: DeviceArray, g: ConvGeometry, label: string): MatrixTexture {
  const [k, m] = [kSize(g), mSize(g)];
  const col = matrixTexture(x.engine, k, m);
  x.engine.run({
    shader: 'im2col', label: labelled(label, 'im2col'), defines: { TEX: true }, constants: convConstants(g),
    buffers: [x, col.view], workgroups: grid1d(k * Math.ceil(m / 4), 64),
  });
  return col;
}

/** col [K, M] for this plan's GEMMs: in a texture under gemm-texture, else a tensor. */
export function unfold(x: DeviceArray, g: ConvGeometry, plan: ConvPlan): MatmulOperand {
  const label = planLabel(plan.name);
  return plan.textures ? im2colTexture(x, g, label) : im2col(x, g, label);
}

/** dy [N, Cout, OH, OW] as the channel-major operand [Cout, M] of this plan's GEMMs. */
export function channelMajorOperand(dy: DeviceArray, g: ConvGeometry, plan: ConvPlan): MatmulOperand {
  const label = planLabel(plan.name);
  return plan.textures ? channelMajorTexture(dy, label) : channelMajor(dy, g, label);
}

/** dx [N, Cin, H, W] from dcol [K, M], plus bias[ci] when given. */
export function col2im(col: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, label?: string): DeviceArray {
  const shape = [g.n, g.cin, g.h, g.w];
  const total = sizeOf(shape);
  const dx = DeviceArray.empty(col.engine, shape);
  col.engine.run({
    shader: 'col2im', label: labelled(label, 'col2im'), defines: { VEC4: total % 4 === 0, BIAS: !!bias }, constants: convConstants(g),
    buffers: bias ? [col, bias, dx] : [col, dx],
    workgroups: grid1d(Math.ceil(total / 4), 64),
  });
  return dx;
}

/**
 * t viewed as [A, B, S] → [B, A, S] with shape `outShape`, adding bias[a] when given. When A or B is 1 and
 * there is no bias the memory order doesn't change, so this is a free view.
 */
export function swap01(t: DeviceArray, a: number, b: number, s: number, bias: DeviceArray | null, outShape: Shape, label?: string): DeviceArray {
  if ((a === 1 || b === 1) && !bias) return viewAs(t, outShape);
  const out = DeviceArray.empty(t.engine, outShape);
  t.engine.run({
    shader: 'swap01', label: labelled(label, 'swap01'), defines: { VEC4: s % 4 === 0, BIAS: !!bias }, uniforms: new Params().u32(a, b, s).buffer,
    buffers: bias ? [t, bias, out] : [t, out],
    workgroups: grid1d(a * b * Math.ceil(s / 4), 64),
  });
  return out;
}

/** The NCHW gradient dy [N, Cout, OH, OW] as [Cout, M]. */
export function channelMajor(dy: DeviceArray, g: ConvGeometry, label?: string): DeviceArray {
  return swap01(dy, g.n, g.cout, g.oh * g.ow, null, [g.cout, mSize(g)], label);
}

/** y [N, Cout, OH, OW] = W · col (+ bias); the plan says whether the product stores itself NCHW. */
export function convFromCol(col: MatmulOperand, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, plan: ConvPlan): DeviceArray {
  const label = planLabel(plan.name);
  const w2 = viewAs(w, [g.cout, kSize(g)]);
  const shape = [g.n, g.cout, g.oh, g.ow];
  if (plan.splitStore) {
    const y = matmulKernel(w2, col, { split: { s: g.oh * g.ow, shape }, label });
    w2.dispose();
    return y;
  }
  const yCM = matmulKernel(w2, col, { label });
  w2.dispose();
  const y = swap01(yCM, g.cout, g.n, g.oh * g.ow, bias, shape, label);
  yCM.dispose();
  return y;
}

/** dx [N, Cin, H, W] = col2im(Wᵀ · dyCM) (+ bias[ci], for conv-transpose). */
export function gradInputFromChannelMajor(dyCM: MatmulOperand, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, plan: ConvPlan): DeviceArray {
  const label = planLabel(plan.name);
  const w2 = viewAs(w, [g.cout, kSize(g)]);
  const dcol = matmulKernel(w2, dyCM, { transposeA: true, label });
  w2.dispose();
  const dx = col2im(dcol, bias, g, label);
  dcol.dispose();
  return dx;
}

/** dW [Cout, Cin, kH, kW] = dyCM · colᵀ. */
export function gradWeightFromCol(dyCM: MatmulOperand, col: MatmulOperand, g: ConvGeometry, plan: ConvPlan): DeviceArray {
  const dw2 = matmulKernel(dyCM, col, { transposeB: true, label: planLabel(plan.name) });
  const dw = viewAs(dw2, [g.cout, g.cin, g.kh, g.kw]);
  dw2.dispose();
  return dw;
}
