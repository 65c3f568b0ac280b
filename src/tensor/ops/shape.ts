// Shape views: reshape and flatten share the input's buffer.
import { record } from '../graph.js';
import { Tensor, shapeString, sizeOf } from '../tensor.js';

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
  const y = new Tensor(x.engine, resolved, x.storage.retain());
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

/** Keeps the first axis and flattens the rest: [N, ...] → [N, prod(...)]. */
export function flatten(x: Tensor): Tensor {
  if (x.rank < 1) throw new Error(`flatten: needs rank ≥ 1, got ${shapeString(x.shape)}`);
  return reshape(x, [x.shape[0], x.size / Math.max(1, x.shape[0])]);
}
