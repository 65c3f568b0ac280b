// The GAN training loop: epochs over a Batcher, one GanTrainer step per batch, with callbacks for what the
// caller does with the results (progress, metrics, sample grids, checkpoints). Browser-safe: no file I/O here;
// the CLI's callbacks write files, a studio page's could draw a chart.
//
// The commit rule: at an epoch's end the loop first calls onEpochEnd (records: metrics line, sample grid), then
// onCheckpoint with epochEnd set. A record is committed once the checkpoint after it exists, so a caller that
// drops records past its checkpoint's step on resume never shows an epoch twice or loses one. A stop (request,
// AbortSignal or maxSteps) on an epoch's last step still ends that epoch first.
import { TrainingError } from './errors.js';
import type { Batcher } from '../data/batches.js';
import { tensor } from '../tensor/ops/create.js';
import { linearDecayFactor } from '../nn/schedule.js';
import { toStats, type GanTrainer, type StepStats } from './trainer.js';

/** Sums over the steps of the epoch in progress (saved in checkpoints, so a resumed epoch's means stay whole). */
export interface EpochTotals {
  lossD: number;
  lossG: number;
  dReal: number;
  dFake: number;
  steps: number;
  seconds: number;
}

export const emptyTotals = (): EpochTotals => ({ lossD: 0, lossG: 0, dReal: 0, dFake: 0, steps: 0, seconds: 0 });

export { TrainingError };

/** A step's loss was NaN or infinite; nothing after that step was recorded or saved. */
export class NonFiniteLossError extends TrainingError {
  constructor(readonly epoch: number, readonly step: number, readonly stats: StepStats) {
    const bad = Number.isFinite(stats.lossD) ? stats.lossG : stats.lossD;
    super(`the loss became ${bad} at epoch ${epoch}, step ${step} (D loss ${stats.lossD}, G loss ${stats.lossG}); training stopped`);
  }
}

export interface TrainingSchedule {
  epochs: number;
  /** Both learning rates fall linearly to zero over the last this many epochs (0: constant). */
  decayEpochs: number;
  /** Stop (with a checkpoint) once this many steps have been made in total. */
  maxSteps?: number;
}

export interface StepReport {
  /** 1-based epoch of this step. */
  epoch: number;
  /** 0-based index of the batch within its epoch. */
  batchIndex: number;
  batchesPerEpoch: number;
  /** Steps made in total, this one included. */
  step: number;
  stats: StepStats;
  /** Wall time of this step (upload, record, submit, read back). */
  seconds: number;
  /** The epoch's sums so far, this step included. */
  totals: Readonly<EpochTotals>;
}

export interface EpochReport {
  /** 1-based number of the epoch just finished. */
  epoch: number;
  step: number;
  lossD: number;
  lossG: number;
  dReal: number;
  dFake: number;
  imagesPerSecond: number;
  seconds: number;
  /** Steps the means are over (all of the epoch's, also when it was resumed part-way). */
  steps: number;
}

/** What a checkpoint taken now must hold besides the trainer and batcher state. */
export interface CheckpointMoment {
  step: number;
  /** Epochs finished. */
  epochsDone: number;
  totals: Readonly<EpochTotals>;
  /** At an epoch's end (keep a copy named after the epoch), else a stop part-way through one. */
  epochEnd: boolean;
  /** Why this checkpoint is taken: the end of an epoch, or a stop. A stop on an epoch's last step gives one 'epoch' checkpoint. */
  reason: 'epoch' | 'stop';
}

export interface TrainingCallbacks {
  /** After every step (progress, per-step metrics, per-step sample grids). */
  onStep?(report: StepReport): void | Promise<void>;
  /** After an epoch's last step, before its checkpoint: write the epoch's records here. */
  onEpochEnd?(report: EpochReport): void | Promise<void>;
  /** Save a checkpoint: at each epoch's end and when stopping part-way through an epoch. */
  onCheckpoint?(moment: CheckpointMoment): void | Promise<void>;
}

export type StopReason = 'requested' | 'max-steps';

/** `{ requested: true }` (what the CLI's SIGINT handler sets) or an aborted AbortSignal ends training after the current step. */
export type StopSignal = { requested: boolean } | AbortSignal;

export interface TrainingLoopInput {
  trainer: GanTrainer;
  batcher: Batcher;
  /** One image's [C, H, W]; batches are uploaded as [batchSize, C, H, W]. */
  imageShape: readonly [number, number, number];
  schedule: TrainingSchedule;
  /** Where a resumed run stands (from its checkpoint); a new run starts at step 0 with empty totals. */
  resume?: { step: number; totals: EpochTotals };
  callbacks?: TrainingCallbacks;
  stop?: StopSignal;
}

export interface TrainingOutcome {
  steps: number;
  epochsDone: number;
  /** null when every epoch was trained. */
  stopped: StopReason | null;
}

/**
 * Trains until `schedule.epochs` epochs are done or a stop. Throws NonFiniteLossError when a loss becomes NaN or
 * infinite (before any callback sees that step) and passes on whatever a callback throws.
 */
export async function runTraining(input: TrainingLoopInput): Promise<TrainingOutcome> {
  const { trainer, batcher, imageShape, schedule, callbacks = {}, stop } = input;
  const engine = trainer.engine;
  let step = input.resume?.step ?? 0;
  let totals: EpochTotals = { ...(input.resume?.totals ?? emptyTotals()) };
  const perEpoch = batcher.batchesPerEpoch;
  const epochsDone = () => (batcher.batchInEpoch >= perEpoch ? batcher.epoch + 1 : batcher.epoch);
  const stopReason = (): StopReason | null => {
    if (stop && ('aborted' in stop ? stop.aborted : stop.requested)) return 'requested';
    return schedule.maxSteps !== undefined && step >= schedule.maxSteps ? 'max-steps' : null;
  };

  const endEpoch = async (epoch: number) => {
    await callbacks.onEpochEnd?.(summarise(epoch + 1, step, totals, batcher.batchSize));
    totals = emptyTotals();
    await callbacks.onCheckpoint?.({ step, epochsDone: epoch + 1, totals, epochEnd: true, reason: 'epoch' });
  };

  // A checkpoint taken on an epoch's last step before that epoch's records were written (by builds before the
  // commit rule): write them now, so the next epoch's means are its own.
  if (batcher.batchInEpoch >= perEpoch && totals.steps > 0) await endEpoch(batcher.epoch);

  while (epochsDone() < schedule.epochs) {
    const epoch = epochsDone();
    for (const batch of batcher.epochBatches()) {
      const started = performance.now();
      trainer.setLearningRateScale(linearDecayFactor(step, schedule.epochs * perEpoch, schedule.decayEpochs * perEpoch));
      const real = tensor(engine, batch.images, [batcher.batchSize, ...imageShape]);
      const statsTensor = trainer.step(real, batch.labels);
      const stats = toStats(await statsTensor.toArray());
      real.dispose();
      statsTensor.dispose();
      step++;
      if (![stats.lossD, stats.lossG].every(Number.isFinite)) throw new NonFiniteLossError(epoch + 1, step, stats);
      const seconds = (performance.now() - started) / 1000;
      accumulate(totals, stats, seconds);
      await callbacks.onStep?.({ epoch: epoch + 1, batchIndex: batch.index, batchesPerEpoch: perEpoch, step, stats, seconds, totals });
      const last = batch.index + 1 === perEpoch;
      if (last) await endEpoch(epoch);
      const reason = stopReason();
      if (reason) {
        if (!last) await callbacks.onCheckpoint?.({ step, epochsDone: epoch, totals, epochEnd: false, reason: 'stop' });
        return { steps: step, epochsDone: epochsDone(), stopped: reason };
      }
    }
  }
  return { steps: step, epochsDone: epochsDone(), stopped: null };
}

function accumulate(totals: EpochTotals, s: StepStats, seconds: number): void {
  totals.lossD += s.lossD;
  totals.lossG += s.lossG;
  totals.dReal += s.dReal;
  totals.dFake += s.dFake;
  totals.steps++;
  totals.seconds += seconds;
}

function summarise(epoch: number, step: number, t: EpochTotals, batchSize: number): EpochReport {
  return {
    epoch, step, steps: t.steps,
    lossD: t.lossD / t.steps, lossG: t.lossG / t.steps, dReal: t.dReal / t.steps, dFake: t.dFake / t.steps,
    imagesPerSecond: (t.steps * batchSize) / t.seconds, seconds: t.seconds,
  };
}
