// Differentiable elementwise ops. Binary ops broadcast; their gradients are summed back to each input's shape.
import { record } from '../graph.js';
import { Tensor } from '../tensor.js';
import { binaryKernel, unaryKernel, unaryGradKernel, type UnaryOpName } from '../../kernels/elementwise.js';
import { sumToShape } from './reduce.js';

function unary(op: UnaryOpName, x: Tensor, alpha = 0): Tensor {
  const y = Tensor.adopt(unaryKernel(op, x, alpha));
  return record(y, op, [x], (g, s) => [Tensor.adopt(unaryGradKernel(op, s.x, s.y, g, alpha))], { x, y });
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const square = (x: Tensor) => unary('square', x);
export const relu = (x: Tensor) => unary('relu', x);
export const leakyRelu = (x: Tensor, slope = 0.2) => unary('leakyRelu', x, slope);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const addScalar = (x: Tensor, s: number) => unary('addScalar', x, s);
export const mulScalar = (x: Tensor, s: number) => unary('mulScalar', x, s);
/** |x| = relu(x) + relu(−x), derived, so its gradient is sign(x) (0 at 0) without a kernel of its own. */
export const abs = (x: Tensor) => add(relu(x), relu(neg(x)));

export function add(a: Tensor, b: Tensor): Tensor {
  return record(Tensor.adopt(binaryKernel('add', a, b)), 'add', [a, b], (g) => [sumToShape(g, a.shape), sumToShape(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return record(Tensor.adopt(binaryKernel('sub', a, b)), 'sub', [a, b], (g) => [
    sumToShape(g, a.shape),
    b.requiresGrad ? sumToShape(neg(g), b.shape) : null,
  ]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return record(Tensor.adopt(binaryKernel('mul', a, b)), 'mul', [a, b], (g, s) => [
    s.b ? sumToShape(Tensor.adopt(binaryKernel('mul', g, s.b)), a.shape) : null,
    s.a ? sumToShape(Tensor.adopt(binaryKernel('mul', g, s.a)), b.shape) : null,
  ], { a: b.requiresGrad ? a : null, b: a.requiresGrad ? b : null });
}

export function div(a: Tensor, b: Tensor): Tensor {
  const c = Tensor.adopt(binaryKernel('div', a, b));
  return record(c, 'div', [a, b], (g, s) => [
    a.requiresGrad ? sumToShape(Tensor.adopt(binaryKernel('div', g, s.b)), a.shape) : null,
    // d(a/b)/db = -c/b
    s.c ? sumToShape(neg(Tensor.adopt(binaryKernel('div', Tensor.adopt(binaryKernel('mul', g, s.c)), s.b))), b.shape) : null,
  ], { b, c: b.requiresGrad ? c : null });
}
