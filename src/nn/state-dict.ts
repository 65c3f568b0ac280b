// A state dict on the host: named float arrays (the shape of a safetensors file's tensors), and the checks a
// record must pass before any of it is written into a model — browser-safe, used by Module.loadStateDict and
// every checkpoint reader. Names follow PyTorch's state_dict conventions ("0.weight", "1.running_mean", …).
import type { Tensor } from '../tensor/tensor.js';

export interface HostTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

export type TensorRecord = Record<string, HostTensor>;

export async function readTensor(t: Tensor): Promise<HostTensor> {
  return { dtype: 'F32', shape: [...t.shape], data: await t.toArray() };
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export type LoadedTensors = Record<string, { dtype: string; shape: number[]; data: ArrayLike<number> | ArrayLike<bigint> }>;

/** A tensor name from a file, quoted on one line and cut short, for error messages. */
export function quoteName(name: string): string {
  const text = JSON.stringify(name).replace(/[\u2028\u2029]/g, ' ');
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** [i, j, …] of flat index `flat` in a row-major `shape`. */
function multiIndex(flat: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? Math.floor(flat / shape[d]) : 0;
  }
  return out;
}

/** Throws CheckpointError naming the tensor and the first NaN or ±Inf in `data`, if there is one. */
export function expectFinite(data: Float32Array, name: string, shape: readonly number[], source: string): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x !== 0) { // false only for NaN and ±Inf, and cheaper than Number.isFinite in this loop
      throw new CheckpointError(`${source}: tensor ${quoteName(name)} holds ${x} at index ${i} ([${multiIndex(i, shape).join(', ')}]); ` +
        'the file is corrupt or its training diverged; use an earlier checkpoint');
    }
  }
}

/**
 * Looks up `name`, checking that it is F32 of exactly `shape` with finite values; the error names the file,
 * the tensor and what was expected. Returns the values.
 */
export function expectTensor(record: LoadedTensors, name: string, shape: readonly number[], source: string): Float32Array {
  const t = Object.hasOwn(record, name) ? record[name] : undefined;
  if (!t) throw new CheckpointError(`${source}: tensor ${quoteName(name)} is missing`);
  if (t.dtype !== 'F32') throw new CheckpointError(`${source}: tensor ${quoteName(name)} has dtype ${String(t.dtype).slice(0, 16)}, expected F32`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    const got = t.shape.length > 8 ? `${t.shape.slice(0, 8).join(', ')}, … (${t.shape.length} dims)` : t.shape.join(', ');
    throw new CheckpointError(`${source}: tensor ${quoteName(name)} has shape [${got}], the model expects [${shape.join(', ')}]`);
  }
  // dtype is F32 here, so data holds numbers.
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  expectFinite(data, name, shape, source);
  return data;
}

/** Names and shapes a record must hold under a prefix (a model's state dict, or the shapes it will have). */
export type ExpectedShapes = Iterable<readonly [string, readonly number[]]>;

/**
 * Checks that `record` holds exactly the tensors `expected` names under `prefix` (none missing, none extra),
 * each F32 of its shape and finite, and returns their values by full name. Runs on the host only, so a file is
 * checked against an architecture before any GPU memory is allocated for it.
 */
export function checkState(record: LoadedTensors, prefix: string, expected: ExpectedShapes, source: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of expected) out.set(prefix + name, expectTensor(record, prefix + name, shape, source));
  for (const name of Object.keys(record)) {
    if (name.startsWith(prefix) && !out.has(name)) {
      throw new CheckpointError(`${source}: unexpected tensor ${quoteName(name)}: the model has no such ${prefix.replace(/\.$/, '')} state; is the file for another architecture?`);
    }
  }
  return out;
}

