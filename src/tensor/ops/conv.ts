// Differentiable 2-D convolution and transposed convolution (NCHW, PyTorch weight layouts).
import { record } from '../graph.js';
import { Tensor, shapeString } from '../tensor.js';
import { isGradEnabled } from '../state.js';
import { biasGradKernel, conv2dBackwardKernel, conv2dForwardKernel, convTranspose2dBackwardKernel, convTranspose2dKernel } from '../../kernels/conv.js';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns on the bottom/right of the output (< stride), to pick among the sizes a stride allows. */
  outputPadding?: number;
}

function checkBias(op: string, bias: Tensor | null, w: Tensor, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new Error(`${op}: bias ${shapeString(bias.shape)} does not match weight ${shapeString(w.shape)} (needs [${channels}])`);
  }
}

/** x [N, Cin, H, W] * w [Cout, Cin, kH, kW] (+ bias [Cout]) → [N, Cout, OH, OW], OH = ⌊(H + 2p − kH) / s⌋ + 1. */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const stride = opts.stride ?? 1;
  const padding = opts.padding ?? 0;
  if (w.rank === 4) checkBias('conv2d', bias, w, w.shape[0]);
  // The weight gradient reuses the forward's unfolded x: unfolding is most of a conv's non-GEMM work.
  const forward = conv2dForwardKernel(x, w, bias, { stride, padding, saveCol: isGradEnabled(x.engine) && w.requiresGrad });
  const y = Tensor.adopt(forward.y);
  const inputs = bias ? [x, w, bias] : [x, w];
  record(y, 'conv2d', inputs, (g, s) => {
    const { dx, dw } = conv2dBackwardKernel(s.x, s.w, g, { stride, padding, input: x.requiresGrad, weight: w.requiresGrad, col: s.col });
    const grads = [Tensor.adopt(dx), Tensor.adopt(dw)];
    return bias ? [...grads, bias.requiresGrad ? Tensor.adopt(biasGradKernel(g)) : null] : grads;
  }, { x, w, col: forward.col });
  forward.col?.dispose();
  return y;
}

/**
 * x [N, Cin, H, W] with w [Cin, Cout, kH, kW] (+ bias [Cout]) → [N, Cout, OH, OW], OH = (H − 1)·s − 2p + kH + outputPadding:
 * the gradient of conv2d with respect to its input, used as a forward op (convTranspose2dKernel).
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const stride = opts.stride ?? 1;
  const padding = opts.padding ?? 0;
  const outputPadding = opts.outputPadding ?? 0;
  const op = 'convTranspose2d';
  if (x.rank !== 4 || w.rank !== 4) {
    throw new Error(`${op}: needs a rank-4 input and weight, got ${shapeString(x.shape)} and ${shapeString(w.shape)}`);
  }
  const [n, cin, h, wd] = x.shape;
  const [wcin, cout, kh, kw] = w.shape;
  if (cin !== wcin) throw new Error(`${op}: input has ${cin} channels but weight ${shapeString(w.shape)} expects ${wcin}`);
  checkBias(op, bias, w, cout);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`${op}: stride must be an integer ≥ 1, got ${stride}`);
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`${op}: padding must be an integer ≥ 0, got ${padding}`);
  if (!Number.isInteger(outputPadding) || outputPadding < 0 || outputPadding >= stride) {
    throw new Error(`${op}: outputPadding must be an integer in [0, stride ${stride}), got ${outputPadding}`);
  }
  const oh = (h - 1) * stride - 2 * padding + kh + outputPadding;
  const ow = (wd - 1) * stride - 2 * padding + kw + outputPadding;
  if (oh < 1 || ow < 1 || h < 1 || wd < 1) {
    throw new Error(`${op}: input ${shapeString(x.shape)} with weight ${shapeString(w.shape)}, stride ${stride}, padding ${padding}, outputPadding ${outputPadding} gives an empty ${oh}×${ow} output`);
  }
  const y = Tensor.adopt(convTranspose2dKernel(x, w, [n, cout, oh, ow], { stride, padding, bias }));
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(y, op, inputs, (g, s) => {
    const { dx, dw } = convTranspose2dBackwardKernel(s.x, s.w, g, { stride, padding, input: x.requiresGrad, weight: w.requiresGrad });
    const grads = [Tensor.adopt(dx), Tensor.adopt(dw)];
    return bias ? [...grads, bias.requiresGrad ? Tensor.adopt(biasGradKernel(g)) : null] : grads;
  }, { x, w });
}
