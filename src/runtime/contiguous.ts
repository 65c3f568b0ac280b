// The one copy that turns a strided view into a contiguous array. Engine.run calls it for every strided array
// bound to a kernel that does not read strides itself, so no kernel can misread a view.
import { Params, grid1d } from './params.js';
import { DeviceArray } from './storage.js';

/** Longest shape a strided view (and the kernels that read one) supports. */
export const MAX_STRIDED_RANK = 8;

/** `values` padded with `fill` to MAX_STRIDED_RANK entries, for a uniform block's array<vec4u, 2>. */
export function padRank(values: readonly number[], fill: number): number[] {
  if (values.length > MAX_STRIDED_RANK) throw new Error(`rank ${values.length} exceeds ${MAX_STRIDED_RANK}`);
  return [...values, ...new Array<number>(MAX_STRIDED_RANK - values.length).fill(fill)];
}

/** A new contiguous array with a's values (a plain element copy: no arithmetic, so -0 stays -0). */
export function contiguousCopy(a: DeviceArray): DeviceArray {
  const y = DeviceArray.empty(a.engine, a.shape);
  if (a.size === 0) return y;
  const params = new Params().u32(a.size, a.rank, 0, 0).u32(...padRank(a.shape, 1)).u32(...padRank(a.readStrides, 0));
  a.engine.run({
    shader: 'strided_copy', uniforms: params.buffer, buffers: [a, y], strided: [a], workgroups: grid1d(a.size, 256),
  });
  return y;
}
