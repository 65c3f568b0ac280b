// Sum over the middle axis of an [outer, reduce, inner] view; callers reduce several axes one at a time.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import { padRank } from '../runtime/contiguous.js';
import { sizeOf, shapeString, type Shape } from '../runtime/shape.js';

/** Writes into `out` when given (it must hold outer·inner elements), else into a new tensor of outShape. */
export function reduceSumKernel(x: DeviceArray, outer: number, reduce: number, inner: number, outShape: Shape, scale = 1, out?: DeviceArray): DeviceArray {
  if (!x.isContiguous) throw new Error(`reduce_sum: ${shapeString(x.shape)} is a strided view: use reduceSumAxisKernel`);
  const y = out ?? DeviceArray.empty(x.engine, outShape);
  x.engine.run({
    shader: 'reduce_sum',
    uniforms: new Params().u32(outer, reduce, inner).f32(scale).buffer,
    buffers: [x, y], workgroups: grid1d(outer * inner, 64), inPlace: out ? [out] : [],
  });
  return y;
}

/**
 * Sums one axis of x (contiguous or a strided view, read through its strides) into a new array of x's shape
 * with that axis 1, scaled by `scale`. The same partial sums in the same order as reduceSumKernel.
 */
export function reduceSumAxisKernel(x: DeviceArray, axis: number, scale = 1): DeviceArray {
  const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  if (x.isContiguous) return reduceSumKernel(x, outer, x.shape[axis], inner, outShape, scale);
  const strides = x.readStrides;
  const y = DeviceArray.empty(x.engine, outShape);
  const params = new Params().u32(outer, x.shape[axis], inner).f32(scale).u32(x.rank, strides[axis], 0, 0)
    .u32(...padRank(outShape, 1)).u32(...padRank(strides, 0));
  x.engine.run({
    shader: 'reduce_sum', label: 'reduce_sum:strided', defines: { STRIDED: true },
    uniforms: params.buffer, buffers: [x, y], strided: [x], workgroups: grid1d(outer * inner, 64),
  });
  return y;
}
