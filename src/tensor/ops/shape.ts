// Shape views: reshape and flatten share the input's buffer; contiguous() copies a strided view.
import { record } from '../graph.js';
import { Tensor, shapeString, sizeOf } from '../tensor.js';
import { contiguousCopy } from '../../runtime/contiguous.js';

/**
 * x with the same elements in row-major order as `shape` (one entry may be -1: inferred). A view over x's
 * storage; a strided view (expand) stays one when only axes of length 1 are added or removed, else it is
 * copied first (contiguous()). Throws when the sizes differ.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = [...shape];
  const infer = resolved.indexOf(-1);
  if (infer >= 0) {
    const known = resolved.reduce((a, d, i) => (i === infer ? a : a * d), 1);
    resolved[infer] = known > 0 ? x.size / known : 0;
  }
  if (sizeOf(resolved) !== x.size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot view ${shapeString(x.shape)} (${x.size} elements) as ${shapeString(shape)}`);
  }
  const strides = x.isContiguous ? null : stridesWithoutUnitAxes(x, resolved);
  if (!x.isContiguous && !strides) return reshape(contiguous(x), resolved);
  const y = new Tensor(x.engine, resolved, x.storage.retain(), strides);
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

/** Strides for x viewed as `shape` when the two differ only in axes of length 1 (those get stride 0), else null. */
function stridesWithoutUnitAxes(x: Tensor, shape: number[]): number[] | null {
  const own = x.readStrides;
  const kept = x.shape.flatMap((d, i) => (d === 1 ? [] : [[d, own[i]]]));
  if (kept.length !== shape.filter((d) => d !== 1).length) return null;
  let k = 0;
  const strides: number[] = [];
  for (const d of shape) {
    if (d === 1) strides.push(0);
    else if (kept[k][0] === d) strides.push(kept[k++][1]);
    else return null;
  }
  return strides;
}

/** x's values in a contiguous array of its own (x itself when it already is one). Gradient passes straight through. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous) return x;
  return record(Tensor.adopt(contiguousCopy(x)), 'contiguous', [x], (g) => [g]);
}

/** Keeps the first axis and flattens the rest: [N, ...] → [N, prod(...)]. */
export function flatten(x: Tensor): Tensor {
  if (x.rank < 1) throw new Error(`flatten: needs rank ≥ 1, got ${shapeString(x.shape)}`);
  return reshape(x, [x.shape[0], x.size / Math.max(1, x.shape[0])]);
}
