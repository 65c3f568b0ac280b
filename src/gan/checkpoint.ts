// Checkpoint contents as named host arrays plus string metadata — the shape of a safetensors file, kept free
// of file I/O so a browser app can build or load one too. Names follow PyTorch's state_dict conventions.
import type { Tensor } from '../tensor/tensor.js';
import { tensor, copyInto } from '../tensor/ops/create.js';
import type { Module } from '../nn/module.js';
import type { Adam } from '../nn/adam.js';
import type { Engine } from '../runtime/engine.js';

export interface HostTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

export type TensorRecord = Record<string, HostTensor>;

export async function readTensor(t: Tensor): Promise<HostTensor> {
  return { dtype: 'F32', shape: [...t.shape], data: await t.toArray() };
}

export async function moduleState(prefix: string, model: Module): Promise<TensorRecord> {
  const out: TensorRecord = {};
  for (const [name, t] of model.stateDict()) out[`${prefix}${name}`] = await readTensor(t);
  return out;
}

export async function adamState(prefix: string, model: Module, opt: Adam): Promise<TensorRecord> {
  const out: TensorRecord = {};
  const names = model.namedParameters().map(([n]) => n);
  for (let i = 0; i < names.length; i++) {
    out[`${prefix}m.${names[i]}`] = await readTensor(opt.m[i]);
    out[`${prefix}v.${names[i]}`] = await readTensor(opt.v[i]);
  }
  return out;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Looks up `name`, checking dtype and shape; the error names the tensor and what was expected. */
export type LoadedTensors = Record<string, { dtype: string; shape: number[]; data: ArrayLike<number> | ArrayLike<bigint> }>;

export function expectTensor(record: LoadedTensors, name: string, shape: readonly number[], source: string): Float32Array {
  const t = record[name];
  if (!t) throw new CheckpointError(`${source}: tensor "${name}" is missing`);
  if (t.dtype !== 'F32') throw new CheckpointError(`${source}: tensor "${name}" has dtype ${t.dtype}, expected F32`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(`${source}: tensor "${name}" has shape [${t.shape.join(', ')}], the model expects [${shape.join(', ')}]`);
  }
  // dtype is F32 here, so data holds numbers.
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

/** Copies every parameter and buffer of `model` from `record` (all checked before any is written). */
export function loadModuleState(engine: Engine, prefix: string, model: Module, record: LoadedTensors, source: string): void {
  const entries = [...model.stateDict()].map(([name, t]) => [t, expectTensor(record, prefix + name, t.shape, source)] as const);
  for (const [t, data] of entries) writeInto(engine, t, data);
}

export function loadAdamState(engine: Engine, prefix: string, model: Module, opt: Adam, record: LoadedTensors, source: string): void {
  const names = model.namedParameters().map(([n]) => n);
  const entries = names.flatMap((name, i) => [
    [opt.m[i], expectTensor(record, `${prefix}m.${name}`, opt.m[i].shape, source)] as const,
    [opt.v[i], expectTensor(record, `${prefix}v.${name}`, opt.v[i].shape, source)] as const,
  ]);
  for (const [t, data] of entries) writeInto(engine, t, data);
}

function writeInto(engine: Engine, t: Tensor, data: Float32Array): void {
  const src = tensor(engine, data, t.shape);
  copyInto(t, src);
  src.dispose();
}
