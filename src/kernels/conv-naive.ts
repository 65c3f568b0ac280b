// Direct-loop conv kernels, one output element per invocation: the reference the fast path is checked against.
import { grid1d } from '../tensor/engine.js';
import { Tensor, sizeOf } from '../tensor/tensor.js';
import { convOutputShape, convParams, type ConvGeometry } from './conv-geometry.js';

export function conv2dNaive(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const shape = convOutputShape(g);
  const y = Tensor.empty(x.engine, shape);
  x.engine.run({
    shader: 'conv2d_naive', defines: { BIAS: !!bias }, uniforms: convParams(g),
    buffers: bias ? [x.buffer, w.buffer, bias.buffer, y.buffer] : [x.buffer, w.buffer, y.buffer],
    workgroups: grid1d(sizeOf(shape), 64),
  });
  return y;
}

export function conv2dGradInputNaive(dy: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const shape = [g.n, g.cin, g.h, g.w];
  const dx = Tensor.empty(dy.engine, shape);
  dy.engine.run({
    shader: 'conv2d_grad_input_naive', defines: { BIAS: !!bias }, uniforms: convParams(g),
    buffers: bias ? [dy.buffer, w.buffer, bias.buffer, dx.buffer] : [dy.buffer, w.buffer, dx.buffer],
    workgroups: grid1d(sizeOf(shape), 64),
  });
  return dx;
}

export function conv2dGradWeightNaive(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const shape = [g.cout, g.cin, g.kh, g.kw];
  const dw = Tensor.empty(x.engine, shape);
  x.engine.run({
    shader: 'conv2d_grad_weight_naive', uniforms: convParams(g),
    buffers: [x.buffer, dy.buffer, dw.buffer], workgroups: grid1d(sizeOf(shape), 64),
  });
  return dw;
}
