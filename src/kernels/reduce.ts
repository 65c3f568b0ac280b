// Sum over the middle axis of an [outer, reduce, inner] view; callers reduce several axes one at a time.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import type { Shape } from '../runtime/shape.js';

/** Writes into `out` when given (it must hold outer·inner elements), else into a new tensor of outShape. */
export function reduceSumKernel(x: DeviceArray, outer: number, reduce: number, inner: number, outShape: Shape, scale = 1, out?: DeviceArray): DeviceArray {
  const y = out ?? DeviceArray.empty(x.engine, outShape);
  x.engine.run({
    shader: 'reduce_sum',
    uniforms: new Params().u32(outer, reduce, inner).f32(scale).buffer,
    buffers: [x, y], workgroups: grid1d(outer * inner, 64),
  });
  return y;
}
