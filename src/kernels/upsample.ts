// Nearest-neighbour upsampling of NCHW tensors by an integer scale, and its gradient.
import { Params, grid1d } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';

export function upsampleNearestKernel(x: Tensor, scale: number): Tensor {
  const [n, c, h, w] = x.shape;
  const y = Tensor.empty(x.engine, [n, c, h * scale, w * scale]);
  x.engine.run({
    shader: 'upsample_nearest', uniforms: new Params().u32(x.size, h, w, scale).buffer,
    buffers: [x.buffer, y.buffer], workgroups: grid1d(x.size, 256),
  });
  return y;
}

/** dx[n, c, i, j] = Σ over the scale×scale block of dy that x[n, c, i, j] was copied to. */
export function upsampleNearestGradKernel(dy: Tensor, scale: number): Tensor {
  const [n, c, oh, ow] = dy.shape;
  const dx = Tensor.empty(dy.engine, [n, c, oh / scale, ow / scale]);
  dy.engine.run({
    shader: 'upsample_nearest_grad', uniforms: new Params().u32(dx.size, oh / scale, ow / scale, scale).buffer,
    buffers: [dy.buffer, dx.buffer], workgroups: grid1d(dx.size, 256),
  });
  return dx;
}
