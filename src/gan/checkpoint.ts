// Checkpoint contents as named host arrays plus string metadata — the shape of a safetensors file, kept free
// of file I/O so a browser app can build or load one too. A module's own part is Module.readStateDict /
// loadStateDict (src/nn); this adds the prefixes of a checkpoint holding several models and the optimizer state.
import type { Tensor } from '../tensor/tensor.js';
import { tensor, copyInto } from '../tensor/ops/create.js';
import type { Module } from '../nn/module.js';
import type { Adam } from '../nn/adam.js';
import type { Engine } from '../runtime/engine.js';
import { readTensor, expectTensor, type LoadedTensors, type TensorRecord } from '../nn/state-dict.js';

export {
  readTensor, quoteName, expectFinite, expectTensor, checkState, CheckpointError,
  type HostTensor, type TensorRecord, type LoadedTensors, type ExpectedShapes,
} from '../nn/state-dict.js';

/** `model`'s parameters and buffers read back to the host, named `prefix` + their state-dict name. */
export async function moduleState(prefix: string, model: Module): Promise<TensorRecord> {
  return model.readStateDict({ prefix });
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

/** Copies every parameter and buffer of `model` from `record` (all checked, as checkState does, before any is written). */
export function loadModuleState(_engine: Engine, prefix: string, model: Module, record: LoadedTensors, source: string): void {
  model.loadStateDict(record, { prefix, source });
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
