// A training checkpoint as bytes: both nets (weights and batchnorm running statistics), the moving average, both
// Adam states and the fixed z as tensors; step, epoch, RNG and shuffle state, the epoch's sums, the training
// options and the model spec as metadata. Browser-safe: the CLI writes these bytes to a run folder
// (src/node/checkpoint-files.ts), a page offers them as a download; `train --resume` and `generate` read both.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { rngState } from '../tensor/state.js';
import type { Batcher } from '../data/batches.js';
import { encodeSafetensors } from '../data/safetensors-format.js';
import type { GanTrainer } from './trainer.js';
import type { EpochTotals } from './training-loop.js';
import { SPEC_METADATA_KEY } from './model-spec.js';
import { EMA_PREFIX } from './generator-state.js';
import { moduleState, adamState, readTensor } from './checkpoint.js';

export const CHECKPOINT_FORMAT = 'atelier-dcgan/1';

export interface TrainingCheckpointState {
  engine: Engine;
  trainer: GanTrainer;
  batcher: Batcher;
  /**
   * The training options as `npm run train` stores them (its flags' values by TrainOptions name, without
   * given/resume/out/overwrite); `--resume` checks each one by its flag's rule.
   */
  config: object;
  fixedZ: Tensor;
  /** The class of each fixed z, for a class-conditional model (the grid's rows); absent otherwise. */
  fixedLabels?: Float32Array;
  totals: EpochTotals;
  step: number;
  epochsDone: number;
}

/** The safetensors bytes of a training checkpoint (reads every tensor back from the GPU). */
export async function encodeTrainingCheckpoint(c: TrainingCheckpointState): Promise<Uint8Array> {
  const { trainer } = c;
  const tensors = {
    ...(await moduleState('generator.', trainer.G)),
    ...(await moduleState('discriminator.', trainer.D)),
    ...(trainer.average ? await moduleState(`${EMA_PREFIX}`, trainer.average.model) : {}),
    ...(await adamState('optimizer_g.', trainer.G, trainer.optG)),
    ...(await adamState('optimizer_d.', trainer.D, trainer.optD)),
    fixed_z: await readTensor(c.fixedZ),
    ...(c.fixedLabels ? { fixed_labels: { dtype: 'F32' as const, shape: [c.fixedLabels.length], data: c.fixedLabels } } : {}),
  };
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(c.config),
    step: String(c.step),
    epochs_done: String(c.epochsDone),
    optimizer_g_step: String(trainer.optG.step),
    optimizer_d_step: String(trainer.optD.step),
    rng: JSON.stringify(rngState(c.engine)),
    batcher: JSON.stringify(c.batcher.state()),
    epoch_totals: JSON.stringify(c.totals),
    adapter: c.engine.adapterName,
    [SPEC_METADATA_KEY]: JSON.stringify(trainer.spec),
    saved_at: new Date().toISOString(),
  };
  return encodeSafetensors(tensors, metadata);
}
