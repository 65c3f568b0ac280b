// Sum over the middle axis of an [outer, reduce, inner] view; callers reduce several axes one at a time.
import { Params, grid1d } from '../tensor/engine.js';
import { Tensor, type Shape } from '../tensor/tensor.js';

/** Writes into `out` when given (it must hold outer·inner elements), else into a new tensor of outShape. */
export function reduceSumKernel(x: Tensor, outer: number, reduce: number, inner: number, outShape: Shape, scale = 1, out?: Tensor): Tensor {
  const y = out ?? Tensor.empty(x.engine, outShape);
  x.engine.run({
    shader: 'reduce_sum',
    uniforms: new Params().u32(outer, reduce, inner).f32(scale).buffer,
    buffers: [x.buffer, y.buffer], workgroups: grid1d(outer * inner, 64),
  });
  return y;
}
