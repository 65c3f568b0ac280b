// Sum and mean over axes, expand (a broadcast view), and sumToShape (the gradient of broadcasting). Sum and
// expand are each other's backward, so they live together.
import { record } from '../graph.js';
import { Tensor, shapeString, type Shape } from '../tensor.js';
import type { DeviceArray } from '../../runtime/storage.js';
import { reduceSumAxisKernel } from '../../kernels/reduce.js';
import { unaryKernel } from '../../kernels/elementwise.js';
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
  for (let k = axes.length - 1; k >= 0; k--) {
    const next = reduceSumAxisKernel(current, axes[k], k === 0 ? scale : 1);
    if (current !== x) current.dispose();
    current = next;
  }
  const out = Tensor.adopt(current === x ? unaryKernel('mulScalar', x, scale) : current);
  const outShape = keepDims ? [...out.shape] : out.shape.filter((_, i) => !axes.includes(i));
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
  // g·(1/count) once per reduced element, then viewed over the reduced axes: the same f32 product per element
  // as scaling the full-size gradient.
  return record(y, 'mean', [x], (g) => [broadcastTo(Tensor.adopt(unaryKernel('mulScalar', g, 1 / count)), list, x.shape)]);
}

/** A reduced gradient viewed back over the reduced axes (no copy: stride 0 along them). */
function broadcastTo(g: Tensor, axes: number[], shape: Shape): Tensor {
  return expand(reshape(g, shape.map((d, i) => (axes.includes(i) ? 1 : d))), shape);
}

/**
 * x viewed as `shape` (numpy broadcasting: x's axes right-aligned, each of length 1 or equal): no copy, stride 0
 * along every broadcast axis, storage shared with x. The gradient sums back over those axes (sumToShape).
 * Throws when x cannot be broadcast to `shape`.
 */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.rank;
  const own = x.readStrides;
  const fail = () => new Error(`expand: cannot broadcast ${shapeString(x.shape)} to ${shapeString(shape)}`);
  if (lead < 0) throw fail();
  const strides = shape.map((d, i) => {
    if (!Number.isInteger(d) || d < 0) throw fail();
    if (i < lead) return 0;
    const k = i - lead;
    if (x.shape[k] === d) return d === 1 ? 0 : own[k];
    if (x.shape[k] === 1) return 0;
    throw fail();
  });
  const y = new Tensor(x.engine, [...shape], x.storage.retain(), strides);
  return record(y, 'expand', [x], (g) => [sumToShape(g, x.shape)]);
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
