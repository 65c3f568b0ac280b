// What a training checkpoint stores besides tensors (its config, RNG, batcher state, epoch totals, step counts)
// checked before resume trusts any of it. The config is checked by the command-line parser itself, one field
// at a time, so a stored value is refused exactly when the same value given as a flag would be.
import { parseTrainOptions, type TrainOptions } from './train-options.js';
import { resolveClasses, FASHION_MNIST } from '../data/fashion-mnist.js';
import { CheckpointError } from '../gan/checkpoint.js';
import type { BatcherState } from '../data/batches.js';
import type { EpochTotals } from '../gan/training-loop.js';

export type StoredOptions = Omit<TrainOptions, 'given' | 'resume' | 'out' | 'overwrite' | 'recipe'>;

type Kind = 'number' | 'string' | 'boolean' | 'strings';
/** Every stored option: its flag, its JSON type, and whether every checkpoint has it (later ones were added over time). */
const FIELDS: Record<keyof StoredOptions, { flag: string; kind: Kind; required: boolean }> = {
  epochs: { flag: 'epochs', kind: 'number', required: true },
  decayEpochs: { flag: 'decay-epochs', kind: 'number', required: false },
  batchSize: { flag: 'batch-size', kind: 'number', required: true },
  lrG: { flag: 'lr-g', kind: 'number', required: true },
  lrD: { flag: 'lr-d', kind: 'number', required: true },
  beta1: { flag: 'beta1', kind: 'number', required: true },
  beta2: { flag: 'beta2', kind: 'number', required: true },
  latentDim: { flag: 'latent-dim', kind: 'number', required: true },
  ngf: { flag: 'ngf', kind: 'number', required: false },
  ndf: { flag: 'ndf', kind: 'number', required: false },
  spectralNorm: { flag: 'spectral-norm', kind: 'boolean', required: false },
  realLabel: { flag: 'real-label', kind: 'number', required: true },
  loss: { flag: 'loss', kind: 'string', required: false },
  ema: { flag: 'ema', kind: 'number', required: false },
  seed: { flag: 'seed', kind: 'number', required: true },
  classes: { flag: 'class', kind: 'strings', required: true },
  limit: { flag: 'limit', kind: 'number', required: false },
  data: { flag: 'data', kind: 'string', required: true },
  sampleEvery: { flag: 'sample-every', kind: 'number', required: true },
  logEvery: { flag: 'log-every', kind: 'number', required: true },
  maxSteps: { flag: 'max-steps', kind: 'number', required: false },
  evalEvery: { flag: 'eval-every', kind: 'number', required: false },
  evalN: { flag: 'eval-n', kind: 'number', required: false },
  classifier: { flag: 'classifier', kind: 'string', required: false },
  model: { flag: 'model', kind: 'string', required: false },
  labelNoise: { flag: 'label-noise', kind: 'number', required: false },
  conditional: { flag: 'conditional', kind: 'boolean', required: false },
  augment: { flag: 'augment', kind: 'strings', required: false },
  minibatchStd: { flag: 'minibatch-std', kind: 'number', required: false },
  modeSeeking: { flag: 'mode-seeking', kind: 'number', required: false },
  extraLayersG: { flag: 'extra-layers-g', kind: 'number', required: false },
  extraLayersD: { flag: 'extra-layers-d', kind: 'number', required: false },
  r1: { flag: 'r1', kind: 'number', required: false },
  r2: { flag: 'r2', kind: 'number', required: false },
  dRegEvery: { flag: 'd-reg-every', kind: 'number', required: false },
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** The flag arguments that give `value`, or a reason it has the wrong JSON type. */
function asArgs(flag: string, kind: Kind, value: unknown): string[] | string {
  switch (kind) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? [`--${flag}=${String(value)}`] : 'is not a number';
    case 'string':
      return typeof value === 'string' ? [`--${flag}=${value}`] : 'is not a string';
    case 'boolean':
      return typeof value === 'boolean' ? (value ? [`--${flag}`] : []) : 'is not true or false';
    case 'strings':
      return Array.isArray(value) && value.every((c) => typeof c === 'string') ? value.map((c) => `--${flag}=${c}`) : 'is not a list of strings';
  }
}

/**
 * A checkpoint's stored `config` (parsed JSON) as checked training options. Each field must have its JSON type
 * and pass the rule of its flag (e.g. lrD as --lr-d: greater than 0, at most 1; ngf as --ngf: 1…1024); fields
 * older checkpoints lack take the flag defaults. Throws CheckpointError naming `path`, the field and the rule.
 */
export function validateStoredConfig(raw: unknown, path: string): StoredOptions {
  if (!isObject(raw)) throw new CheckpointError(`${path}: metadata "config" is ${shown(raw)}, not an object of training options; the checkpoint is corrupt`);
  const args: string[] = [];
  for (const [key, { flag, kind, required }] of Object.entries(FIELDS)) {
    const value = raw[key];
    if (value === undefined) {
      if (required) throw new CheckpointError(`${path}: metadata "config" has no "${key}" (--${flag}); the checkpoint is corrupt`);
      continue;
    }
    const bad = (why: string) => new CheckpointError(`${path}: metadata "config" field "${key}" is ${shown(value)}: ${why} (the rule of --${flag}); the checkpoint is corrupt`);
    const fieldArgs = asArgs(flag, kind, value);
    if (typeof fieldArgs === 'string') throw bad(fieldArgs);
    try {
      parseTrainOptions(fieldArgs);
      if (key === 'classes' && (value as string[]).length) resolveClasses(FASHION_MNIST, value as string[]);
    } catch (e) {
      const message = (e as Error).message.split('\n')[0];
      throw bad(message.replace(/^--[\w-]+(=| )[^:]*: /, '').replace(/^Fashion-MNIST: /, ''));
    }
    args.push(...fieldArgs);
  }
  try {
    const { given: _given, out: _out, resume: _resume, recipe: _recipe, ...options } = parseTrainOptions(args);
    return options;
  } catch (e) {
    throw new CheckpointError(`${path}: metadata "config" is inconsistent: ${(e as Error).message.split('\n')[0]}; the checkpoint is corrupt`);
  }
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks that `value` is an object whose listed fields each pass their test; the error names the field. */
function checkRecord<T>(value: unknown, key: string, path: string, fields: Record<string, [(v: unknown) => boolean, string]>): T {
  if (!isObject(value)) throw new CheckpointError(`${path}: metadata "${key}" is ${shown(value)}, not an object; the checkpoint is corrupt`);
  for (const [field, [ok, what]] of Object.entries(fields)) {
    if (!ok(value[field])) throw new CheckpointError(`${path}: metadata "${key}" field "${field}" is ${shown(value[field])}, not ${what}; the checkpoint is corrupt`);
  }
  return value as T;
}

/** The random stream's state: both u32 (a missing field would silently reseed and break bitwise resume). */
export function validateRng(value: unknown, path: string): { seed: number; counter: number } {
  const r = checkRecord<{ seed: number; counter: number }>(value, 'rng', path, { seed: [isU32, 'a whole number 0…2^32−1'], counter: [isU32, 'a whole number 0…2^32−1'] });
  return { seed: r.seed, counter: r.counter };
}

/** The shuffle state; its batch size must be the config's. */
export function validateBatcherState(value: unknown, path: string, batchSize: number): BatcherState {
  const b = checkRecord<BatcherState>(value, 'batcher', path, {
    seed: [isU32, 'a whole number 0…2^32−1'], epoch: [isCount, 'a whole number ≥ 0'], batch: [isCount, 'a whole number ≥ 0'],
    count: [(v) => isCount(v) && v >= 1, 'a whole number ≥ 1'], batchSize: [(v) => v === batchSize, `the config's batch size ${batchSize}`],
    shuffle: [(v) => typeof v === 'boolean', 'true or false'],
  });
  return { seed: b.seed, epoch: b.epoch, batch: b.batch, count: b.count, batchSize: b.batchSize, shuffle: b.shuffle };
}


/** The running sums of the epoch in progress: finite numbers, whole steps, non-negative seconds. */
export function validateEpochTotals(value: unknown, path: string): EpochTotals {
  const t = checkRecord<EpochTotals>(value, 'epoch_totals', path, {
    lossD: [isFiniteNumber, 'a finite number'], lossG: [isFiniteNumber, 'a finite number'], dReal: [isFiniteNumber, 'a finite number'],
    dFake: [isFiniteNumber, 'a finite number'], steps: [isCount, 'a whole number ≥ 0'], seconds: [(v) => isFiniteNumber(v) && v >= 0, 'a number ≥ 0'],
  });
  return { lossD: t.lossD, lossG: t.lossG, dReal: t.dReal, dFake: t.dFake, steps: t.steps, seconds: t.seconds };
}

/** A metadata string that must be a whole number ≥ 0 written in decimal digits (Number('') would be 0). */
export function validateCount(metadata: Record<string, string>, key: string, path: string): number {
  const text = metadata[key];
  const value = Number(text);
  if (typeof text !== 'string' || !/^\d{1,16}$/.test(text) || !Number.isSafeInteger(value)) {
    throw new CheckpointError(`${path}: metadata "${key}" is ${shown(text ?? null)}, not a whole number ≥ 0; the checkpoint is corrupt`);
  }
  return value;
}
