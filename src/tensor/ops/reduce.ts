// Sum and mean over axes, and sumToShape (the gradient of broadcasting).
import { record } from '../graph.js';
import { Tensor, shapeString, type Shape } from '../tensor.js';
import type { DeviceArray } from '../../runtime/storage.js';
import { reduceSumKernel } from '../../kernels/reduce.js';
import { binaryKernel } from '../../kernels/elementwise.js';
import { fill } from './create.js';
import { reshape } from './shape.js';

function normaliseAxes(op: string, shape: Shape, axes?: number | number[]): number[] {
  const list = axes === undefined ? shape.map((_, i) => i) : Array.isArray(axes) ? axes : [axes];
  const out = list.map((a) => (a < 0 ? a + shape.length : a));
  for (const a of out) {
    if (!Number.isInteger(a) || a < 0 || a >= shape.length) {
      throw new Error(`${op}: axis ${a} out of range for shape ${shapeString(shape)}`);
    }
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

/** Sums `axes` away (one pass per axis, innermost last), scaling the final pass by `scale`. No autograd. */
function sumRaw(x: Tensor, axes: number[], keepDims: boolean, scale: number): Tensor {
  let current: DeviceArray = x;
  const shape = [...x.shape];
  for (let k = axes.length - 1; k >= 0; k--) {
    const axis = axes[k];
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const reduce = shape[axis];
    shape[axis] = 1;
    const next = reduceSumKernel(current, outer, reduce, inner, [...shape], k === 0 ? scale : 1);
    if (current !== x) current.dispose();
    current = next;
  }
  const out = Tensor.adopt(current === x ? binaryKernel('mul', x, fill(x.engine, [1], scale)) : current);
  const outShape = keepDims ? shape : shape.filter((_, i) => !axes.includes(i));
  return outShape.length === out.shape.length ? out : reshapeRaw(out, outShape);
}

function reshapeRaw(t: Tensor, shape: number[]): Tensor {
  const out = new Tensor(t.engine, shape, t.storage.retain());
  t.dispose();
  return out;
}

export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const list = normaliseAxes('sum', x.shape, axes);
  const y = sumRaw(x, list, keepDims, 1);
  return record(y, 'sum', [x], (g) => [broadcastTo(g, list, x.shape)]);
}

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const list = normaliseAxes('mean', x.shape, axes);
  const count = list.reduce((n, a) => n * x.shape[a], 1);
  const y = sumRaw(x, list, keepDims, 1 / count);
  return record(y, 'mean', [x], (g) => [broadcastTo(g, list, x.shape, 1 / count)]);
}

/** Expands a reduced gradient back over the reduced axes. */
function broadcastTo(g: Tensor, axes: number[], shape: Shape, scale = 1): Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return Tensor.adopt(binaryKernel('mul', reshape(g, kept), fill(g.engine, shape, scale)));
}

/** Sums g over the axes along which `shape` was broadcast to g's shape (the gradient of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const s = axes.length ? sum(g, axes, true) : g;
  return reshape(s, shape);
}
