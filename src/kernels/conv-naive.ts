// Direct-loop conv kernels, one output element per invocation: the reference the fast path is checked against
// (plans 'naive' and 'direct', conv-plan.ts). `label` is the plan's label, for profiles.
import { grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import { sizeOf } from '../runtime/shape.js';
import { convOutputShape, convParams, labelled, type ConvGeometry } from './conv-geometry.js';

export function conv2dNaive(x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, label?: string): DeviceArray {
  const shape = convOutputShape(g);
  const y = DeviceArray.empty(x.engine, shape);
  x.engine.run({
    shader: 'conv2d_naive', label: labelled(label, 'conv2d_naive'), defines: { BIAS: !!bias }, uniforms: convParams(g),
    buffers: bias ? [x, w, bias, y] : [x, w, y],
    workgroups: grid1d(sizeOf(shape), 64),
  });
  return y;
}

export function conv2dGradInputNaive(dy: DeviceArray, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, label?: string): DeviceArray {
  const shape = [g.n, g.cin, g.h, g.w];
  const dx = DeviceArray.empty(dy.engine, shape);
  dy.engine.run({
    shader: 'conv2d_grad_input_naive', label: labelled(label, 'conv2d_grad_input_naive'), defines: { BIAS: !!bias }, uniforms: convParams(g),
    buffers: bias ? [dy, w, bias, dx] : [dy, w, dx],
    workgroups: grid1d(sizeOf(shape), 64),
  });
  return dx;
}

export function conv2dGradWeightNaive(x: DeviceArray, dy: DeviceArray, g: ConvGeometry, label?: string): DeviceArray {
  const shape = [g.cout, g.cin, g.kh, g.kw];
  const dw = DeviceArray.empty(x.engine, shape);
  x.engine.run({
    shader: 'conv2d_grad_weight_naive', label: labelled(label, 'conv2d_grad_weight_naive'), uniforms: convParams(g),
    buffers: [x, dy, dw], workgroups: grid1d(sizeOf(shape), 64),
  });
  return dw;
}
