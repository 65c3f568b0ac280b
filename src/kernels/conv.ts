// Raw conv2d and conv-transpose2d kernels (no autograd): forward, the two gradients and the bias gradient. Each
// entry point asks planConv (conv-plan.ts) for the plan of each product it computes and dispatches it: the
// direct-loop shaders (naive / direct, conv-naive.ts), one matmul on the NCHW storage (dense, conv-dense.ts) or
// im2col + matmul (gemm / gemm-texture, conv-fast.ts).
import { Params } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import { shapeString, type Shape } from '../runtime/shape.js';
import type { Engine } from '../runtime/engine.js';
import { conv2dGradInputNaive, conv2dGradWeightNaive, conv2dNaive } from './conv-naive.js';
import { channelMajorOperand, convFromCol, gradInputFromChannelMajor, gradWeightFromCol, unfold } from './conv-fast.js';
import { denseForward, denseGradInput, denseGradWeight } from './conv-dense.js';
import { convGeometry, expectOutputShape, type ConvGeometry, type ConvOptions } from './conv-geometry.js';
import { convConfig, planConv, type ConvDirection, type ConvFacts, type ConvPlan, type ConvPlanOptions } from './conv-plan.js';
import { matmulFacts, type MatmulOperand } from './matmul.js';
import { planLabel } from './matmul-plan.js';

export { convOutputSize, type ConvAlgorithm, type ConvOptions } from './conv-geometry.js';
export { convConfig, planConv, type ConvPlan } from './conv-plan.js';

/** The device facts and thresholds planConv reads, from this engine, matmulConfig and convConfig. */
export function convFacts(engine: Engine): ConvFacts {
  return { ...matmulFacts(engine), conv: convConfig };
}

function plan(engine: Engine, g: ConvGeometry, direction: ConvDirection, opts: ConvOptions, more: ConvPlanOptions = {}): ConvPlan {
  return planConv(g, direction, convFacts(engine), { algorithm: opts.algorithm, ...more });
}

const isGemm = (p: ConvPlan | null): p is ConvPlan => p?.variant === 'gemm' || p?.variant === 'gemm-texture';

/** The plan that makes an operand two GEMM plans share (they agree on textures: same geometry and facts). */
function sharing(a: ConvPlan | null, b: ConvPlan | null): ConvPlan | null {
  if (isGemm(a) && isGemm(b) && a.textures !== b.textures) throw new Error(`${a.name} and ${b.name} disagree on textures`);
  return isGemm(a) ? a : isGemm(b) ? b : null;
}

function checkBias(op: string, bias: DeviceArray | null | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new Error(`${op}: bias ${shapeString(bias.shape)} should be [${channels}]`);
  }
}

/** y = conv(x, w) (+ bias) of geometry g under a forward-product plan; `col` is x already unfolded for it. */
function runForward(p: ConvPlan, x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, col: MatmulOperand | null = null): DeviceArray {
  const label = planLabel(p.name);
  if (p.variant === 'naive' || p.variant === 'direct') return conv2dNaive(x, w, bias, g, label);
  if (p.variant === 'dense') return denseForward(x, w, bias, g, label);
  const c = col ?? unfold(x, g, p);
  const y = convFromCol(c, w, bias, g, p);
  if (c !== col) c.dispose();
  return y;
}

/** dx of geometry g (+ bias[ci]) under a gradInput-product plan; `dyCM` is dy already made channel-major. */
function runGradInput(p: ConvPlan, dy: DeviceArray, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, dyCM: MatmulOperand | null = null): DeviceArray {
  const label = planLabel(p.name);
  if (p.variant === 'naive' || p.variant === 'direct') return conv2dGradInputNaive(dy, w, bias, g, label);
  if (p.variant === 'dense') return denseGradInput(dy, w, bias, g, label);
  const cm = dyCM ?? channelMajorOperand(dy, g, p);
  const dx = gradInputFromChannelMajor(cm, w, bias, g, p);
  if (cm !== dyCM) cm.dispose();
  return dx;
}

/** dw of geometry g under a gradWeight-product plan, reusing a channel-major dy or an unfolded x when given. */
function runGradWeight(p: ConvPlan, x: DeviceArray, dy: DeviceArray, g: ConvGeometry, shared: { dyCM?: MatmulOperand | null; col?: MatmulOperand | null } = {}): DeviceArray {
  const label = planLabel(p.name);
  if (p.variant === 'naive' || p.variant === 'direct') return conv2dGradWeightNaive(x, dy, g, label);
  if (p.variant === 'dense') return denseGradWeight(x, dy, g, label);
  const cm = shared.dyCM ?? channelMajorOperand(dy, g, p);
  const col = shared.col ?? unfold(x, g, p);
  const dw = gradWeightFromCol(cm, col, g, p);
  if (cm !== shared.dyCM) cm.dispose();
  if (col !== shared.col) col.dispose();
  return dw;
}

/** y [N, Cout, OH, OW] = conv2d(x [N, Cin, H, W], w [Cout, Cin, kH, kW]) + bias [Cout]. */
export function conv2dKernel(x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, opts: ConvOptions): DeviceArray {
  return conv2dForwardKernel(x, w, bias, opts).y;
}

/**
 * conv2d's forward; with `saveCol` the GEMM plans also return their unfolded input (in a buffer), for the weight
 * gradient to reuse (conv2dBackwardKernel's `col`) instead of unfolding x again.
 */
export function conv2dForwardKernel(x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, opts: ConvOptions & { saveCol?: boolean }): { y: DeviceArray; col: DeviceArray | null } {
  const g = convGeometry('conv2d', x.shape, w.shape, opts.stride, opts.padding);
  checkBias('conv2d', bias, g.cout);
  const p = plan(x.engine, g, 'conv2d.forward', opts, { bias: !!bias, colBuffer: !!opts.saveCol });
  if (!(opts.saveCol && isGemm(p))) return { y: runForward(p, x, w, bias, g), col: null };
  const col = unfold(x, g, p) as DeviceArray; // a buffer: the plan was made with colBuffer
  return { y: runForward(p, x, w, bias, g, col), col };
}

/** dx [inputShape] of a conv2d from its output gradient dy (its backward's input half). */
export function conv2dGradInputKernel(dy: DeviceArray, w: DeviceArray, inputShape: Shape, opts: ConvOptions): DeviceArray {
  return gradInput('conv2d.gradInput', dy, w, inputShape, null, opts);
}

/**
 * y [outShape = N, Cout, OH, OW] = convTranspose2d(x [N, Cin, H, W], w [Cin, Cout, kH, kW]) + bias [Cout]. It is
 * the input gradient of the conv2d that maps outShape to x's shape, with w read as that conv's weight ([Cout_conv
 * = Cin, Cin_conv = Cout, kH, kW]); the bias is per channel of that conv's input. Plans: convTranspose2d.forward/….
 */
export function convTranspose2dKernel(x: DeviceArray, w: DeviceArray, outShape: Shape, opts: ConvOptions & { bias?: DeviceArray | null }): DeviceArray {
  return gradInput('convTranspose2d.forward', x, w, outShape, opts.bias ?? null, opts);
}

/** dx [inputShape] from dy, plus bias[ci] when given, under the direction's gradInput-product plan. */
function gradInput(direction: 'conv2d.gradInput' | 'convTranspose2d.forward', dy: DeviceArray, w: DeviceArray, inputShape: Shape, bias: DeviceArray | null, opts: ConvOptions): DeviceArray {
  const op = direction === 'conv2d.gradInput' ? 'conv2dGradInput' : 'convTranspose2d';
  const g = convGeometry(op, inputShape, w.shape, opts.stride, opts.padding);
  expectOutputShape(op, 'dy', dy.shape, g);
  checkBias(op, bias, g.cin);
  return runGradInput(plan(dy.engine, g, direction, opts), dy, w, bias, g);
}

/** dw [weightShape] of a conv2d from its input x and output gradient dy. */
export function conv2dGradWeightKernel(x: DeviceArray, dy: DeviceArray, weightShape: Shape, opts: ConvOptions): DeviceArray {
  const g = convGeometry('conv2dGradWeight', x.shape, weightShape, opts.stride, opts.padding);
  expectOutputShape('conv2dGradWeight', 'dy', dy.shape, g);
  return runGradWeight(plan(x.engine, g, 'conv2d.gradWeight', opts), x, dy, g);
}

/** db [C] = Σ over N and the spatial axes of dy [N, C, ...]. */
export function biasGradKernel(dy: DeviceArray): DeviceArray {
  if (dy.rank < 2) throw new Error(`biasGrad: needs [N, C, ...], got ${shapeString(dy.shape)}`);
  const [n, c] = dy.shape;
  const s = dy.size / Math.max(1, n * c);
  const db = DeviceArray.empty(dy.engine, [c]);
  dy.engine.run({
    shader: 'bias_grad', uniforms: new Params().u32(n, c, s).buffer,
    buffers: [dy, db], workgroups: [c],
  });
  return db;
}

export interface BackwardNeeds {
  input: boolean;
  weight: boolean;
}

export interface ConvGrads {
  dx: DeviceArray | null;
  dw: DeviceArray | null;
}

/**
 * conv2d's input and weight gradients together; GEMM plans make the channel-major dy once for both, and take
 * the unfolded x from the forward pass when given one (`col`, from conv2dForwardKernel).
 */
export function conv2dBackwardKernel(x: DeviceArray, w: DeviceArray, dy: DeviceArray, opts: ConvOptions & BackwardNeeds & { col?: DeviceArray | null }): ConvGrads {
  const g = convGeometry('conv2d backward', x.shape, w.shape, opts.stride, opts.padding);
  expectOutputShape('conv2d backward', 'dy', dy.shape, g);
  const dxPlan = opts.input ? plan(x.engine, g, 'conv2d.gradInput', opts) : null;
  const dwPlan = opts.weight ? plan(x.engine, g, 'conv2d.gradWeight', opts, { colBuffer: !!opts.col }) : null;
  const cmPlan = sharing(dxPlan, dwPlan);
  const dyCM = cmPlan ? channelMajorOperand(dy, g, cmPlan) : null;
  const dx = dxPlan ? runGradInput(dxPlan, dy, w, null, g, dyCM) : null;
  const dw = dwPlan ? runGradWeight(dwPlan, x, dy, g, { dyCM, col: opts.col }) : null;
  dyCM?.dispose();
  return { dx, dw };
}

/**
 * conv-transpose2d's gradients. x [N, Cin_T, H, W], w [Cin_T, Cout_T, kH, kW], dy [N, Cout_T, OH, OW]: read as a
 * conv2d of dy by w, dx is that conv's forward and dw its weight gradient with x as the output gradient
 * (plans convTranspose2d.gradInput/… and convTranspose2d.gradWeight/…); GEMM plans unfold dy once for both.
 */
export function convTranspose2dBackwardKernel(x: DeviceArray, w: DeviceArray, dy: DeviceArray, opts: ConvOptions & BackwardNeeds): ConvGrads {
  const g: ConvGeometry = convGeometry('convTranspose2d backward', dy.shape, w.shape, opts.stride, opts.padding);
  expectOutputShape('convTranspose2d backward', 'x', x.shape, g);
  const dxPlan = opts.input ? plan(x.engine, g, 'convTranspose2d.gradInput', opts) : null;
  const dwPlan = opts.weight ? plan(x.engine, g, 'convTranspose2d.gradWeight', opts) : null;
  const colPlan = sharing(dxPlan, dwPlan);
  const col = colPlan ? unfold(dy, g, colPlan) : null;
  const dx = dxPlan ? runForward(dxPlan, dy, w, null, g, col) : null;
  const dw = dwPlan ? runGradWeight(dwPlan, dy, x, g, { col }) : null;
  col?.dispose();
  return { dx, dw };
}
