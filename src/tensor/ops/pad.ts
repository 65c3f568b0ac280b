// Differentiable per-side padding of NCHW tensors (Keras's asymmetric 'same' padding is built on it).
import { record } from '../graph.js';
import { Tensor, shapeString } from '../tensor.js';
import { pad2dKernel, type Pad2d } from '../../kernels/pad.js';

export type { Pad2d } from '../../kernels/pad.js';

/**
 * Zero padding of x [N, C, H, W] by [top, bottom, left, right] pixels → [N, C, H + top + bottom, W + left + right].
 * A negative amount crops that many pixels from that side (so pad2d(x, −p) is pad2d(x, p)'s gradient, the
 * interior slice). Throws for a rank other than 4, non-integer amounts, or an empty or negative output size.
 */
export function pad2d(x: Tensor, pad: Pad2d): Tensor {
  if (x.rank !== 4) throw new Error(`pad2d: input must be NCHW (rank 4), got ${shapeString(x.shape)}`);
  if (pad.length !== 4 || !pad.every((p) => Number.isInteger(p))) throw new Error(`pad2d: padding must be 4 integers [top, bottom, left, right], got [${pad.join(', ')}]`);
  const [top, bottom, left, right] = pad;
  const [, , h, w] = x.shape;
  if (h + top + bottom < 1 || w + left + right < 1 || -top >= h || -bottom >= h || -left >= w || -right >= w) {
    throw new Error(`pad2d: padding [${pad.join(', ')}] leaves nothing of ${shapeString(x.shape)}`);
  }
  const y = Tensor.adopt(pad2dKernel(x, pad));
  const inverse: Pad2d = [-top, -bottom, -left, -right];
  return record(y, 'pad2d', [x], (g) => [Tensor.adopt(pad2dKernel(g, inverse))]);
}
