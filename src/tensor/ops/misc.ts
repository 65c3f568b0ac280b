// Differentiable upsampling, dropout, concatenation and its inverse (narrow).
import { record } from '../graph.js';
import { Tensor, shapeString } from '../tensor.js';
import { nextRandomKey } from '../state.js';
import { upsampleNearestKernel, upsampleNearestGradKernel } from '../../kernels/upsample.js';
import { dropoutKernel } from '../../kernels/dropout.js';
import { concatKernel, sliceAxisKernel } from '../../kernels/concat.js';
import { fillKernel } from '../../kernels/elementwise.js';
import { contiguous } from './shape.js';

/** Nearest-neighbour upsampling of NCHW by an integer factor: [N, C, H, W] → [N, C, H·scale, W·scale]. */
export function upsampleNearest(x: Tensor, scale: number): Tensor {
  if (x.rank !== 4) throw new Error(`upsampleNearest: input must be NCHW (rank 4), got ${shapeString(x.shape)}`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`upsampleNearest: scale must be an integer ≥ 1, got ${scale}`);
  const y = Tensor.adopt(upsampleNearestKernel(x, scale));
  return record(y, 'upsampleNearest', [x], (g) => [Tensor.adopt(upsampleNearestGradKernel(g, scale))]);
}

/** A new tensor sharing x's values, whose gradient passes straight through. */
function identity(x: Tensor, op: string): Tensor {
  const y = new Tensor(x.engine, x.shape, x.storage.retain(), x.strides);
  return record(y, op, [x], (g) => [g]);
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1 − p). The mask comes
 * from the stream (seed, 0), or from the engine's RNG (which then advances) when no seed is given; the backward
 * pass applies the same mask. Identity when not training or p = 0.
 */
export function dropout(x: Tensor, p: number, training: boolean, seed?: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return identity(x, 'dropout');
  const { seed: s, counter } = seed !== undefined ? { seed, counter: 0 } : nextRandomKey(x.engine);
  const y = Tensor.adopt(dropoutKernel(x, p, s, counter));
  return record(y, 'dropout', [x], (g) => [Tensor.adopt(dropoutKernel(g, p, s, counter))]);
}

/** Joins tensors along `axis` (default 1: channels of NCHW); all other dimensions must agree. */
export function concat(tensors: Tensor[], axis = 1): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0];
  const rank = first.rank;
  const ax = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= rank) {
    throw new Error(`concat: axis ${axis} out of range for shape ${shapeString(first.shape)}`);
  }
  for (const t of tensors) {
    if (t.rank !== rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      const shapes = tensors.map((u) => shapeString(u.shape)).join(', ');
      throw new Error(`concat: shapes ${shapes} differ outside axis ${ax}`);
    }
  }
  const outShape = [...first.shape];
  outShape[ax] = tensors.reduce((n, t) => n + t.shape[ax], 0);
  const y = Tensor.adopt(concatKernel(tensors, ax, outShape));
  return record(y, 'concat', tensors, (g) => {
    let start = 0;
    return tensors.map((t) => {
      const part = t.requiresGrad ? Tensor.adopt(sliceAxisKernel(g, ax, start, t.shape)) : null;
      start += t.shape[ax];
      return part;
    });
  });
}

/**
 * The positions [start, start + length) of x along `axis` (PyTorch's narrow), as a tensor of its own. Its
 * gradient is the incoming one placed back at those positions, zeros elsewhere. Throws for a range outside x.
 */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= x.rank) throw new Error(`narrow: axis ${axis} out of range for shape ${shapeString(x.shape)}`);
  const total = x.shape[ax];
  if (!(Number.isInteger(start) && Number.isInteger(length) && start >= 0 && length >= 1 && start + length <= total)) {
    throw new Error(`narrow: [${start}, ${start + length}) is not within 0…${total} of axis ${ax} of ${shapeString(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[ax] = length;
  const whole = contiguous(x);
  const y = Tensor.adopt(sliceAxisKernel(whole, ax, start, shape));
  if (whole !== x) whole.dispose();
  return record(y, 'narrow', [x], (g) => {
    const zeros = (n: number) => {
      const s = [...x.shape];
      s[ax] = n;
      return Tensor.adopt(fillKernel(x.engine, s, 0));
    };
    const parts = [...(start > 0 ? [zeros(start)] : []), contiguous(g), ...(start + length < total ? [zeros(total - start - length)] : [])];
    const out = Tensor.adopt(concatKernel(parts, ax, [...x.shape]));
    for (const p of parts) if (p !== g) p.dispose();
    return [out];
  });
}
