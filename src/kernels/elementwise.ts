// Elementwise kernels: unary maps and their derivatives, broadcasting binary ops, fill and random.
import { Params, grid1d } from '../runtime/params.js';
import type { Engine } from '../runtime/engine.js';
import { DeviceArray } from '../runtime/storage.js';
import { MAX_STRIDED_RANK, padRank } from '../runtime/contiguous.js';
import { shapeString, sizeOf, type Shape } from '../runtime/shape.js';
import { UnaryOp, unaryCases, unaryGradCases, type UnaryOpName } from './unary-ops.js';

export { UnaryOp, type UnaryOpName } from './unary-ops.js';

/** Op codes shared with binary.wgsl. */
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3 } as const;
export type BinaryOpName = keyof typeof BinaryOp;

export function unaryKernel(op: UnaryOpName, x: DeviceArray, alpha = 0): DeviceArray {
  const y = DeviceArray.empty(x.engine, x.shape);
  const vec4 = x.size % 4 === 0;
  const n = vec4 ? x.size / 4 : x.size;
  x.engine.run({
    shader: 'unary', label: `unary:${op}`, defines: { VEC4: vec4, UNARY_CASES: unaryCases }, constants: { OP: UnaryOp[op] },
    uniforms: new Params().u32(n).f32(alpha).buffer,
    buffers: [x, y], workgroups: grid1d(n, 256),
  });
  return y;
}

/** dx = dy · f'(x), where y = f(x) is passed too (some derivatives are cheaper from y). */
export function unaryGradKernel(op: UnaryOpName, x: DeviceArray, y: DeviceArray, dy: DeviceArray, alpha = 0): DeviceArray {
  const dx = DeviceArray.empty(x.engine, x.shape);
  const vec4 = x.size % 4 === 0;
  const n = vec4 ? x.size / 4 : x.size;
  x.engine.run({
    shader: 'unary_grad', label: `unary_grad:${op}`, defines: { VEC4: vec4, UNARY_GRAD_CASES: unaryGradCases }, constants: { OP: UnaryOp[op] },
    uniforms: new Params().u32(n).f32(alpha).buffer,
    buffers: [x, y, dy, dx], workgroups: grid1d(n, 256),
  });
  return dx;
}


export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${shapeString(a)} and ${shapeString(b)} cannot be broadcast together`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** a's strides (its own when a strided view, else row-major) read as `outShape` (right-aligned), 0 along broadcast axes. */
function broadcastStrides(a: DeviceArray, outShape: Shape): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  const own = a.readStrides;
  for (let i = a.shape.length - 1; i >= 0; i--) {
    strides[outShape.length - a.shape.length + i] = a.shape[i] === 1 ? 0 : own[i];
  }
  return strides;
}

/**
 * c = a OP b with broadcasting. Either operand may be a strided view (expand's zero strides): it is read
 * through its strides, without a copy.
 */
export function binaryKernel(op: BinaryOpName, a: DeviceArray, b: DeviceArray): DeviceArray {
  const shape = broadcastShapes(op, a.shape, b.shape);
  if (shape.length > MAX_STRIDED_RANK) throw new Error(`${op}: rank ${shape.length} exceeds ${MAX_STRIDED_RANK}`);
  const c = DeviceArray.empty(a.engine, shape);
  const same = a.size === c.size && b.size === c.size && a.isContiguous && b.isContiguous;
  const vec4 = same && c.size % 4 === 0;
  const n = vec4 ? c.size / 4 : c.size;
  const params = new Params().u32(n, shape.length, 0, 0)
    .u32(...padRank(shape, 1)).u32(...padRank(broadcastStrides(a, shape), 1)).u32(...padRank(broadcastStrides(b, shape), 1));
  a.engine.run({
    shader: 'binary', label: `binary:${op}`, defines: { SAME: same, VEC4: vec4 }, constants: { OP: BinaryOp[op] },
    uniforms: params.buffer, buffers: [a, b, c], strided: [a, b], workgroups: grid1d(n, 256),
  });
  return c;
}

export function fillKernel(engine: Engine, shape: Shape, value: number): DeviceArray {
  const y = DeviceArray.empty(engine, shape);
  const n = sizeOf(shape);
  engine.run({
    shader: 'fill', uniforms: new Params().u32(n).f32(value).buffer, buffers: [y], workgroups: grid1d(n, 256),
  });
  return y;
}

/** Uniform [a, b) or, with `normal`, N(a, b²), from the counter-based stream (seed, counter). */
export function randomKernel(engine: Engine, shape: Shape, normal: boolean, a: number, b: number, seed: number, counter: number): DeviceArray {
  const y = DeviceArray.empty(engine, shape);
  const n = sizeOf(shape);
  engine.run({
    shader: 'random', label: normal ? 'random:normal' : 'random:uniform', defines: { NORMAL: normal },
    uniforms: new Params().u32(n, seed >>> 0, counter >>> 0, 0).f32(a, b).buffer,
    buffers: [y], workgroups: grid1d(n, 256),
  });
  return y;
}
