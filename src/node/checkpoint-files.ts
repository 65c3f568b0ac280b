// Training checkpoints on disk: safetensors holding both nets (weights and batchnorm running statistics), both
// Adam states and the fixed z, with the step, epoch, RNG and shuffle state and the config as metadata.
import { existsSync, statSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/ops/create.js';
import { keep } from '../tensor/autograd.js';
import { setRngState } from '../tensor/state.js';
import type { Batcher } from '../data/batches.js';
import type { GanTrainer } from '../gan/trainer.js';
import { DEFAULT_WIDTH } from '../gan/models.js';
import { generatorShapes, discriminatorShapes, type GanSpec } from '../gan/spec.js';
import { specOfConfig } from '../gan/trainer.js';
import { readModelSpec } from '../gan/model-spec.js';
import { DEFAULT_PRESET, CONDITIONAL } from '../gan/presets.js';
import { fixedSampleCount, gridLabels } from '../gan/fixed-samples.js';
import { EMA_PREFIX } from '../gan/generator-state.js';
import { loadModuleState, loadAdamState, expectTensor, checkState, CheckpointError, type LoadedTensors } from '../gan/checkpoint.js';
import { readSafetensors } from '../io/safetensors.js';
import { encodeTrainingCheckpoint, CHECKPOINT_FORMAT } from '../gan/training-checkpoint.js';
import { writeFileAtomic } from '../io/atomic.js';
import { withFileErrors } from '../io/fs-errors.js';
import { validateStoredConfig, validateRng, validateBatcherState, validateEpochTotals, validateCount, type StoredOptions } from './stored-config.js';
import { UsageError } from './args.js';
import type { TrainOptions } from './train-options.js';
import type { EpochTotals } from '../gan/training-loop.js';

export { CHECKPOINT_FORMAT } from '../gan/training-checkpoint.js';
export { EMA_PREFIX } from '../gan/generator-state.js';

export type { EpochTotals } from '../gan/training-loop.js';

interface SaveContext {
  engine: Engine;
  trainer: GanTrainer;
  batcher: Batcher;
  options: TrainOptions;
  fixedZ: Tensor;
  /** The class of each fixed z (conditional runs), saved as fixed_labels. */
  fixedLabels?: Float32Array;
  totals: EpochTotals;
  step: number;
  epochsDone: number;
  /** Also keep a copy named after the epoch. */
  perEpoch: boolean;
}

/**
 * Writes checkpoints/latest.safetensors (and, with perEpoch, checkpoints/epoch_NNN.safetensors) and returns the
 * path named in messages: the epoch's file when there is one. Each file is written atomically (temp, fsync,
 * rename); the epoch's file goes first, so once latest says an epoch is done its file exists, and a kill between
 * the two only makes the resumed run write the same epoch file again.
 */
export async function saveCheckpoint(outDir: string, c: SaveContext): Promise<string> {
  // `conditional`, `augment`, `minibatchStd`, `modeSeeking`, the extra layers and the penalties are stored only when set, so a run
  // without them stores the config byte for byte as before they existed.
  const { given: _given, resume: _resume, out: _out, overwrite: _overwrite, recipe: _recipe, conditional, augment, minibatchStd, modeSeeking, extraLayersG, extraLayersD, r1, r2, dRegEvery, ...rest } = c.options;
  const config = {
    ...rest, ...(conditional ? { conditional } : {}), ...(augment.length ? { augment } : {}), ...(minibatchStd ? { minibatchStd } : {}), ...(modeSeeking ? { modeSeeking } : {}),
    ...(extraLayersG ? { extraLayersG } : {}), ...(extraLayersD ? { extraLayersD } : {}), ...(r1 ? { r1 } : {}), ...(r2 ? { r2 } : {}),
    ...(dRegEvery > 1 ? { dRegEvery } : {}),
  };
  const bytes = await encodeTrainingCheckpoint({ ...c, config });
  const latest = join(outDir, 'checkpoints', 'latest.safetensors');
  const named = c.perEpoch ? epochCheckpointPath(outDir, c.epochsDone) : undefined;
  // Each write names its own file when it fails (the caller adds which checkpoint is left intact).
  if (named) withFileErrors(named, 'write', () => writeFileAtomic(named, bytes));
  withFileErrors(latest, 'write', () => writeFileAtomic(latest, bytes));
  return named ?? latest;
}

export const epochCheckpointPath = (outDir: string, epoch: number) => join(outDir, 'checkpoints', `epoch_${String(epoch).padStart(3, '0')}.safetensors`);

/** A run folder, its checkpoints folder, or a checkpoint file → the checkpoint file. */
export function resolveCheckpointPath(path: string): string {
  if (!existsSync(path)) throw new CheckpointError(`--resume ${path}: no such file or folder`);
  if (!statSync(path).isDirectory()) return path;
  const candidates = [join(path, 'checkpoints', 'latest.safetensors'), join(path, 'latest.safetensors')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new CheckpointError(`--resume ${path}: no checkpoint found (looked for ${candidates.join(' and ')})`);
  return found;
}

export interface LoadedTrainingCheckpoint {
  options: StoredOptions;
  /** The file's model spec, or the reference DCGAN its config describes (files from before specs). */
  spec: GanSpec;
  runDir: string;
  restore(engine: Engine, trainer: GanTrainer, batcher: Batcher): { fixedZ: Tensor; fixedLabels?: Float32Array; totals: EpochTotals; step: number };
}

/**
 * Reads a training checkpoint and checks all of it before anything is built: the stored config by the rules of
 * the flags, the RNG, batcher and epoch-total state, the step counts, and every tensor's name, shape, dtype and
 * finiteness against the architecture that config describes. Throws CheckpointError or SafetensorsError naming
 * `path` and the field or tensor.
 */
export function loadTrainingCheckpoint(path: string): LoadedTrainingCheckpoint {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${path}: not an atelier training checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null).slice(0, 80)}, expected "${CHECKPOINT_FORMAT}")`);
  }
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key]);
    } catch {
      throw new CheckpointError(`${path}: metadata "${key}" is missing or not valid JSON; the checkpoint is corrupt`);
    }
  };
  const options = validateStoredConfig(json('config'), path);
  const rng = validateRng(json('rng'), path);
  const batcherState = validateBatcherState(json('batcher'), path, options.batchSize);
  const totals: EpochTotals = validateEpochTotals(json('epoch_totals'), path);
  const step = validateCount(metadata, 'step', path);
  const stepG = validateCount(metadata, 'optimizer_g_step', path);
  const stepD = validateCount(metadata, 'optimizer_d_step', path);
  const stored = readModelSpec(metadata, path);
  const spec = stored ?? specOfConfig({ ...options, model: DEFAULT_PRESET });
  const model = options.model ?? DEFAULT_PRESET;
  if (stored && stored.preset !== model) {
    throw new CheckpointError(`${path}: metadata "model" is the spec of preset ${JSON.stringify(stored.preset).slice(0, 70)} but its config says --model ${model}; the checkpoint is corrupt`);
  }
  if (stored && stored.latentDim !== options.latentDim) {
    throw new CheckpointError(`${path}: metadata "model" has latentDim ${stored.latentDim} but its config says --latent-dim ${options.latentDim}; the checkpoint is corrupt`);
  }
  checkConditional(stored, options, path);
  checkTrainingTensors(tensors, options, spec, path);
  const checkpointsDir = dirname(path);
  const runDir = basename(checkpointsDir) === 'checkpoints' ? dirname(checkpointsDir) : checkpointsDir;
  return {
    options,
    spec,
    runDir,
    restore(engine, trainer, batcher) {
      loadModuleState(engine, 'generator.', trainer.G, tensors, path);
      loadModuleState(engine, 'discriminator.', trainer.D, tensors, path);
      if (trainer.average) loadModuleState(engine, EMA_PREFIX, trainer.average.model, tensors, path);
      loadAdamState(engine, 'optimizer_g.', trainer.G, trainer.optG, tensors, path);
      loadAdamState(engine, 'optimizer_d.', trainer.D, trainer.optD, tensors, path);
      const count = fixedSampleCount(spec.conditional);
      const z = expectTensor(tensors, 'fixed_z', [count, options.latentDim, 1, 1], path);
      const fixedLabels = spec.conditional ? expectTensor(tensors, 'fixed_labels', [count], path) : undefined;
      trainer.optG.step = stepG;
      trainer.optD.step = stepD;
      setRngState(engine, { seed: rng.seed >>> 0, counter: rng.counter >>> 0 });
      batcher.restore(batcherState);
      return { fixedZ: keep(tensor(engine, z, [count, options.latentDim, 1, 1])), fixedLabels, totals, step };
    },
  };
}

/** Every tensor a checkpoint of these options holds, checked on the host (no GPU memory yet). */
function checkTrainingTensors(tensors: LoadedTensors, options: StoredOptions, spec: GanSpec, path: string): void {
  const G = generatorShapes(spec, path);
  const D = discriminatorShapes(spec, path);
  checkState(tensors, 'generator.', [...G.parameters, ...G.buffers], path);
  checkState(tensors, 'discriminator.', [...D.parameters, ...D.buffers], path);
  if (options.ema > 0) checkState(tensors, EMA_PREFIX, [...G.parameters, ...G.buffers], path);
  const adam = (params: [string, number[]][]) => params.flatMap(([n, shape]) => [[`m.${n}`, shape], [`v.${n}`, shape]] as [string, number[]][]);
  checkState(tensors, 'optimizer_g.', adam(G.parameters), path);
  checkState(tensors, 'optimizer_d.', adam(D.parameters), path);
  const count = fixedSampleCount(spec.conditional);
  expectTensor(tensors, 'fixed_z', [count, options.latentDim, 1, 1], path);
  if (spec.conditional) {
    const labels = expectTensor(tensors, 'fixed_labels', [count], path);
    const expected = gridLabels(spec.conditional.classes);
    const at = labels.findIndex((v, i) => v !== expected[i]);
    if (at >= 0) throw new CheckpointError(`${path}: tensor "fixed_labels" holds ${labels[at]} at ${at}, expected class ${expected[at]} (one row of 8 per class); the checkpoint is corrupt`);
  } else if (Object.hasOwn(tensors, 'fixed_labels')) {
    throw new CheckpointError(`${path}: tensor "fixed_labels" is in a checkpoint whose model is not class-conditional; the checkpoint is corrupt`);
  }
}

/** The config's --conditional against the file's spec: both or neither, and the spec's classes Fashion-MNIST's. */
function checkConditional(stored: GanSpec | undefined, options: StoredOptions, path: string): void {
  const flag = options.conditional ?? false;
  const has = stored?.conditional !== undefined;
  if (flag !== has) {
    throw new CheckpointError(`${path}: metadata "config" says ${flag ? '--conditional' : 'no --conditional'} but its metadata "model" is ${has ? '' : 'not '}class-conditional` +
      `${stored ? '' : ' (it has no model spec)'}; the checkpoint is corrupt`);
  }
  if (stored?.conditional && stored.conditional.classes !== CONDITIONAL.classes) {
    throw new CheckpointError(`${path}: metadata "model" field "conditional" has ${stored.conditional.classes} classes, but training reads Fashion-MNIST's ${CONDITIONAL.classes}; the checkpoint is corrupt`);
  }
}

/** Flags that would make the resumed run a different experiment. */
const FIXED_ON_RESUME: (keyof TrainOptions)[] = ['model', 'batchSize', 'latentDim', 'seed', 'classes', 'limit', 'loss', 'ema', 'ngf', 'ndf', 'spectralNorm', 'labelNoise', 'conditional', 'augment', 'minibatchStd', 'modeSeeking', 'extraLayersG', 'extraLayersD', 'r1', 'r2', 'dRegEvery'];
const FLAG: Record<string, string> = { model: 'model', conditional: 'conditional', labelNoise: 'label-noise', batchSize: 'batch-size', latentDim: 'latent-dim', seed: 'seed', classes: 'class', limit: 'limit', loss: 'loss', ema: 'ema', ngf: 'ngf', ndf: 'ndf', spectralNorm: 'spectral-norm', augment: 'augment', minibatchStd: 'minibatch-std', modeSeeking: 'mode-seeking', extraLayersG: 'extra-layers-g', extraLayersD: 'extra-layers-d', r1: 'r1', r2: 'r2', dRegEvery: 'd-reg-every' };

/** The checkpoint's settings, with what the command line may change on resume (epochs, rates, output, logging). */
export function applyResumeOptions(cli: TrainOptions, storedOptions: LoadedTrainingCheckpoint['options']): TrainOptions {
  // Checkpoints from before --ngf/--ndf/--spectral-norm hold the reference settings.
  const stored = {
    ...storedOptions, ngf: storedOptions.ngf ?? DEFAULT_WIDTH, ndf: storedOptions.ndf ?? DEFAULT_WIDTH, spectralNorm: storedOptions.spectralNorm ?? false,
    model: storedOptions.model ?? DEFAULT_PRESET, labelNoise: storedOptions.labelNoise ?? 0, conditional: storedOptions.conditional ?? false,
    augment: storedOptions.augment ?? [], minibatchStd: storedOptions.minibatchStd ?? 0, modeSeeking: storedOptions.modeSeeking ?? 0,
    extraLayersG: storedOptions.extraLayersG ?? 0, extraLayersD: storedOptions.extraLayersD ?? 0, r1: storedOptions.r1 ?? 0, r2: storedOptions.r2 ?? 0,
    dRegEvery: storedOptions.dRegEvery ?? 1,
  };
  for (const key of FIXED_ON_RESUME) {
    const flag = FLAG[key];
    if (cli.given.includes(flag) && JSON.stringify(cli[key]) !== JSON.stringify(stored[key as keyof typeof stored])) {
      throw new UsageError(`--${flag} ${JSON.stringify(cli[key])} contradicts the checkpoint's ${JSON.stringify(stored[key as keyof typeof stored])}; drop --${flag} to resume, or start a new run`);
    }
  }
  const merged: TrainOptions = { ...cli, ...stored, given: cli.given, resume: cli.resume, out: cli.out, overwrite: cli.overwrite };
  const overridable = { epochs: 'epochs', decayEpochs: 'decay-epochs', lrG: 'lr-g', lrD: 'lr-d', beta1: 'beta1', beta2: 'beta2', realLabel: 'real-label', data: 'data', sampleEvery: 'sample-every', logEvery: 'log-every', maxSteps: 'max-steps', evalEvery: 'eval-every', evalN: 'eval-n', classifier: 'classifier' } as const;
  for (const [key, flag] of Object.entries(overridable)) {
    if (cli.given.includes(flag)) (merged as unknown as Record<string, unknown>)[key] = cli[key as keyof TrainOptions];
    else if (key === 'maxSteps') merged.maxSteps = undefined;
  }
  return merged;
}
