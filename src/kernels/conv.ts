// Raw conv2d kernels (no autograd): forward, the two gradients and the bias gradient, each with a direct-loop
// naive path and a GEMM (im2col + matmul, see conv-fast.ts) fast path chosen per call or by convConfig. The fast
// path itself falls back to the direct kernels where a GEMM would be mostly padding (fewer than 4 channels).
import { Params } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import { shapeString, type Shape } from '../runtime/shape.js';
import { conv2dGradInputNaive, conv2dGradWeightNaive, conv2dNaive } from './conv-naive.js';
import { channelMajorOperand, convFromCol, gradInputFromChannelMajor, gradWeightFromCol, im2col, unfold } from './conv-fast.js';
import { coversInput, denseForward, denseGradInput, denseGradWeight } from './conv-dense.js';
import { convGeometry, expectOutputShape, type ConvAlgorithm, type ConvGeometry, type ConvOptions } from './conv-geometry.js';

export { convOutputSize, type ConvAlgorithm, type ConvOptions } from './conv-geometry.js';

export const convConfig = { algorithm: 'fast' as ConvAlgorithm };

const algorithmOf = (opts: ConvOptions) => opts.algorithm ?? convConfig.algorithm;
/** The fast path's dense-layer shortcut (see conv-dense.ts). */
const dense = (opts: ConvOptions, g: ConvGeometry) => algorithmOf(opts) === 'fast' && coversInput(g);

/**
 * Whether the fast path should use a GEMM whose rows are the output channels (forward and grad-weight). The
 * matmul computes 32-row blocks, so with fewer than 4 channels most of its work is padding and the direct
 * kernel wins (measured on the DCGAN's 128→1 k7 layer: forward 2 ms vs 10 ms, grad-weight 9 ms vs 22 ms).
 */
const gemmOverChannels = (opts: ConvOptions, g: ConvGeometry) => algorithmOf(opts) === 'fast' && g.cout >= 4;

function checkBias(op: string, bias: DeviceArray | null | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new Error(`${op}: bias ${shapeString(bias.shape)} should be [${channels}]`);
  }
}

/** y [N, Cout, OH, OW] = conv2d(x [N, Cin, H, W], w [Cout, Cin, kH, kW]) + bias [Cout]. */
export function conv2dKernel(x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, opts: ConvOptions): DeviceArray {
  return conv2dForwardKernel(x, w, bias, opts).y;
}

/**
 * conv2d's forward; with `saveCol` the GEMM path also returns its unfolded input, for the weight gradient to
 * reuse (conv2dBackwardKernel's `col`) instead of unfolding x again.
 */
export function conv2dForwardKernel(x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, opts: ConvOptions & { saveCol?: boolean }): { y: DeviceArray; col: DeviceArray | null } {
  const g = convGeometry('conv2d', x.shape, w.shape, opts.stride, opts.padding);
  checkBias('conv2d', bias, g.cout);
  if (dense(opts, g)) return { y: denseForward(x, w, bias, g), col: null };
  if (!gemmOverChannels(opts, g)) return { y: conv2dNaive(x, w, bias, g), col: null };
  const col = opts.saveCol ? im2col(x, g) : unfold(x, g);
  const y = convFromCol(col, w, bias, g);
  if (opts.saveCol) return { y, col: col as DeviceArray };
  col.dispose();
  return { y, col: null };
}

/** dx [inputShape] of a conv2d from its output gradient dy (its backward's input half). */
export function conv2dGradInputKernel(dy: DeviceArray, w: DeviceArray, inputShape: Shape, opts: ConvOptions): DeviceArray {
  return gradInput('conv2dGradInput', dy, w, inputShape, null, opts);
}

/**
 * y [outShape = N, Cout, OH, OW] = convTranspose2d(x [N, Cin, H, W], w [Cin, Cout, kH, kW]) + bias [Cout]. It is
 * the input gradient of the conv2d that maps outShape to x's shape, with w read as that conv's weight ([Cout_conv
 * = Cin, Cin_conv = Cout, kH, kW]); the bias is per channel of that conv's input.
 */
export function convTranspose2dKernel(x: DeviceArray, w: DeviceArray, outShape: Shape, opts: ConvOptions & { bias?: DeviceArray | null }): DeviceArray {
  return gradInput('convTranspose2d', x, w, outShape, opts.bias ?? null, opts);
}

/** dx [inputShape] from dy, plus bias[ci] when given: naive, dense, or GEMM + col2im. */
function gradInput(op: string, dy: DeviceArray, w: DeviceArray, inputShape: Shape, bias: DeviceArray | null, opts: ConvOptions): DeviceArray {
  const g = convGeometry(op, inputShape, w.shape, opts.stride, opts.padding);
  expectOutputShape(op, 'dy', dy.shape, g);
  checkBias(op, bias, g.cin);
  if (algorithmOf(opts) === 'naive') return conv2dGradInputNaive(dy, w, bias, g);
  if (dense(opts, g)) return denseGradInput(dy, w, bias, g);
  const dyCM = channelMajorOperand(dy, g);
  const dx = gradInputFromChannelMajor(dyCM, w, bias, g);
  dyCM.dispose();
  return dx;
}

/** dw [weightShape] of a conv2d from its input x and output gradient dy. */
export function conv2dGradWeightKernel(x: DeviceArray, dy: DeviceArray, weightShape: Shape, opts: ConvOptions): DeviceArray {
  const g = convGeometry('conv2dGradWeight', x.shape, weightShape, opts.stride, opts.padding);
  expectOutputShape('conv2dGradWeight', 'dy', dy.shape, g);
  if (dense(opts, g)) return denseGradWeight(x, dy, g);
  if (!gemmOverChannels(opts, g)) return conv2dGradWeightNaive(x, dy, g);
  const dyCM = channelMajorOperand(dy, g);
  const col = unfold(x, g);
  const dw = gradWeightFromCol(dyCM, col, g);
  dyCM.dispose();
  col.dispose();
  return dw;
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
 * conv2d's input and weight gradients together; the fast path makes the channel-major dy once for both, and
 * takes the unfolded x from the forward pass when given one (`col`, from conv2dForwardKernel).
 */
export function conv2dBackwardKernel(x: DeviceArray, w: DeviceArray, dy: DeviceArray, opts: ConvOptions & BackwardNeeds & { col?: DeviceArray | null }): ConvGrads {
  const g = convGeometry('conv2d backward', x.shape, w.shape, opts.stride, opts.padding);
  expectOutputShape('conv2d backward', 'dy', dy.shape, g);
  if (algorithmOf(opts) === 'naive') {
    return {
      dx: opts.input ? conv2dGradInputNaive(dy, w, null, g) : null,
      dw: opts.weight ? conv2dGradWeightNaive(x, dy, g) : null,
    };
  }
  if (dense(opts, g)) {
    return { dx: opts.input ? denseGradInput(dy, w, null, g) : null, dw: opts.weight ? denseGradWeight(x, dy, g) : null };
  }
  const dwGemm = opts.weight && gemmOverChannels(opts, g);
  const dyCM = opts.input || dwGemm ? channelMajorOperand(dy, g) : null;
  const dx = opts.input ? gradInputFromChannelMajor(dyCM!, w, null, g) : null;
  let dw: DeviceArray | null = null;
  if (dwGemm) {
    const col = opts.col ?? unfold(x, g);
    dw = gradWeightFromCol(dyCM!, col, g);
    if (col !== opts.col) col.dispose();
  } else if (opts.weight) {
    dw = conv2dGradWeightNaive(x, dy, g);
  }
  dyCM?.dispose();
  return { dx, dw };
}

/**
 * conv-transpose2d's gradients. x [N, Cin_T, H, W], w [Cin_T, Cout_T, kH, kW], dy [N, Cout_T, OH, OW]: read as a
 * conv2d of dy by w, dx is that conv's forward and dw its weight gradient with x as the output gradient; the fast
 * path unfolds dy once for both.
 */
export function convTranspose2dBackwardKernel(x: DeviceArray, w: DeviceArray, dy: DeviceArray, opts: ConvOptions & BackwardNeeds): ConvGrads {
  const g: ConvGeometry = convGeometry('convTranspose2d backward', dy.shape, w.shape, opts.stride, opts.padding);
  expectOutputShape('convTranspose2d backward', 'x', x.shape, g);
  if (dense(opts, g)) {
    return { dx: opts.input ? denseForward(dy, w, null, g) : null, dw: opts.weight ? denseGradWeight(dy, x, g) : null };
  }
  if (!gemmOverChannels(opts, g)) {
    return {
      dx: opts.input ? conv2dNaive(dy, w, null, g) : null,
      dw: opts.weight ? conv2dGradWeightNaive(dy, x, g) : null,
    };
  }
  const col = unfold(dy, g);
  const dx = opts.input ? convFromCol(col, w, null, g) : null;
  let dw: DeviceArray | null = null;
  if (opts.weight) {
    const xCM = channelMajorOperand(x, g);
    dw = gradWeightFromCol(xCM, col, g);
    xCM.dispose();
  }
  col.dispose();
  return { dx, dw };
}
