// Concatenation along one axis, one dispatch per input, and the inverse slice for the backward pass.
// Each input is an [outer, inner] block placed at column `offset` of the [outer, outInner] output.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';
import type { Shape } from '../runtime/shape.js';

function copyBlock(src: DeviceArray, dst: DeviceArray, outer: number, inner: number, outInner: number, offset: number, slice: boolean): void {
  const vec4 = inner % 4 === 0 && outInner % 4 === 0 && offset % 4 === 0;
  const k = vec4 ? 4 : 1;
  const n = (outer * inner) / k;
  src.engine.run({
    shader: 'concat', label: slice ? 'concat:slice' : 'concat', defines: { VEC4: vec4, SLICE: slice },
    uniforms: new Params().u32(n, inner / k, outInner / k, offset / k).buffer,
    buffers: [src, dst], workgroups: grid1d(n, 256),
  });
}

/** Shapes are checked by the caller: all equal except along `axis`. */
export function concatKernel(tensors: DeviceArray[], axis: number, outShape: Shape): DeviceArray {
  const out = DeviceArray.empty(tensors[0].engine, outShape);
  const outer = outShape.slice(0, axis).reduce((a, b) => a * b, 1);
  const outInner = out.size / Math.max(1, outer);
  let offset = 0;
  for (const t of tensors) {
    const inner = t.size / Math.max(1, outer);
    copyBlock(t, out, outer, inner, outInner, offset, false);
    offset += inner;
  }
  return out;
}

/** The part of `whole` (shape [..., axis: total, ...]) at positions [start, start + shape[axis]) along `axis`. */
export function sliceAxisKernel(whole: DeviceArray, axis: number, start: number, shape: Shape): DeviceArray {
  const part = DeviceArray.empty(whole.engine, shape);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const rest = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  copyBlock(whole, part, outer, part.size / Math.max(1, outer), whole.size / Math.max(1, outer), start * rest, true);
  return part;
}
