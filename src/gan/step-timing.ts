// Wall time of one GAN training step of any preset, for `npm run compare` (bench/step.ts times the reference
// DCGAN with more detail). Browser-safe.
import type { Engine } from '../runtime/engine.js';
import { tensor } from '../tensor/ops/create.js';
import { GanTrainer, type GanConfig } from './trainer.js';
import type { GanSpec } from './spec.js';
import type { StepTiming } from './comparison.js';

export interface StepTimingOptions {
  /** Steps run first and not timed (pipeline compilation, pool growth). Default 2. */
  warmups?: number;
  /** Steps timed; the median is reported. Default 5. */
  runs?: number;
  /** The batch's classes (batch of them, 0…classes−1): required for a class-conditional spec, unused otherwise. */
  labels?: ArrayLike<number>;
  /** 'median' (default) or 'mean' of the timed steps: the mean counts the occasional costly step (lazy penalties) at its share. */
  statistic?: 'median' | 'mean';
}

/**
 * Times `runs` training steps after `warmups`, each from upload of `images` (batch×1×H×W in [−1, 1], the
 * same batch every step) to the stats read back, on a fresh trainer of `config` and `spec` (the engine's
 * RNG is reseeded by it). A class-conditional spec's steps get `labels`, the batch's classes, as training gives
 * them. Returns the median (or, with `statistic: 'mean'`, the mean) ms per step and batch / that as images per second. Throws for bad counts, or a
 * conditional spec without `shape[0]` labels.
 */
export async function timeTrainingStep(engine: Engine, config: GanConfig, spec: GanSpec, images: Float32Array, shape: [number, number, number, number], { warmups = 2, runs = 5, labels, statistic = 'median' }: StepTimingOptions = {}): Promise<StepTiming> {
  if (!(Number.isInteger(runs) && runs >= 1 && Number.isInteger(warmups) && warmups >= 0)) throw new Error(`timeTrainingStep: runs ${runs} must be ≥ 1 and warmups ${warmups} ≥ 0, whole numbers`);
  if (spec.conditional && labels?.length !== shape[0]) throw new Error(`timeTrainingStep: a class-conditional model needs the batch's ${shape[0]} labels, got ${labels?.length ?? 'none'}`);
  const stepLabels = spec.conditional ? labels : undefined;
  const trainer = new GanTrainer(engine, config, spec);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmups + runs; i++) {
      const started = performance.now();
      const real = tensor(engine, images, shape);
      const stats = trainer.step(real, stepLabels);
      await stats.toArray();
      real.dispose();
      stats.dispose();
      if (i >= warmups) times.push(performance.now() - started);
    }
  } finally {
    trainer.dispose();
  }
  times.sort((a, b) => a - b);
  const m = times.length >> 1;
  const msPerStep = statistic === 'mean' ? times.reduce((a, b) => a + b, 0) / times.length : times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2;
  return { batch: shape[0], msPerStep, imagesPerSecond: (1000 * shape[0]) / msPerStep, warmups, runs };
}
