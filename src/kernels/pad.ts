// Per-side zero padding (or cropping, for negative sides) of NCHW tensors: one kernel for both directions.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';

/** Pixels added [top, bottom, left, right] (negative: removed). */
export type Pad2d = readonly [number, number, number, number];

/** y [N, C, H + top + bottom, W + left + right] with y[.., i, j] = x[.., i − top, j − left] inside x, else 0. */
export function pad2dKernel(x: DeviceArray, [top, bottom, left, right]: Pad2d): DeviceArray {
  const [n, c, h, w] = x.shape;
  const oh = h + top + bottom;
  const ow = w + left + right;
  const y = DeviceArray.empty(x.engine, [n, c, oh, ow]);
  if (y.size === 0) return y;
  x.engine.run({
    shader: 'pad2d', uniforms: new Params().u32(y.size, h, w, oh, ow).i32(top, left).buffer,
    buffers: [x, y], workgroups: grid1d(y.size, 256),
  });
  return y;
}
