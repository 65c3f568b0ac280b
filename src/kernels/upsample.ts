// Nearest-neighbour upsampling of NCHW tensors by an integer scale, and its gradient.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';

export function upsampleNearestKernel(x: DeviceArray, scale: number): DeviceArray {
  const [n, c, h, w] = x.shape;
  const y = DeviceArray.empty(x.engine, [n, c, h * scale, w * scale]);
  x.engine.run({
    shader: 'upsample_nearest', uniforms: new Params().u32(x.size, h, w, scale).buffer,
    buffers: [x, y], workgroups: grid1d(x.size, 256),
  });
  return y;
}

/** dx[n, c, i, j] = Σ over the scale×scale block of dy that x[n, c, i, j] was copied to. */
export function upsampleNearestGradKernel(dy: DeviceArray, scale: number): DeviceArray {
  const [n, c, oh, ow] = dy.shape;
  const dx = DeviceArray.empty(dy.engine, [n, c, oh / scale, ow / scale]);
  dy.engine.run({
    shader: 'upsample_nearest_grad', uniforms: new Params().u32(dx.size, oh / scale, ow / scale, scale).buffer,
    buffers: [dy, dx], workgroups: grid1d(dx.size, 256),
  });
  return dx;
}
