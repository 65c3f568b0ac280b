// One DCGAN training step (D step + G step, losses read back) at a given batch size.
import type { Engine } from '../src/tensor/engine.js';
import { GanTrainer, DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { randn } from '../src/tensor/ops/create.js';
import { medianOf } from './stats.js';

export interface StepFigures {
  batch: number;
  msPerStep: number;
  imagesPerSecond: number;
  dispatchesPerStep: number;
  submitsPerStep: number;
  readbacksPerStep: number;
  peakBytes: number;
}

export async function benchStep(engine: Engine, batch: number, runs: number): Promise<StepFigures> {
  const trainer = new GanTrainer(engine, DEFAULT_GAN_CONFIG);
  const real = randn(engine, [batch, 1, 28, 28], 0, 0.5);
  const before = { ...engine.stats };
  let steps = 0;
  engine.pool.peakInUseBytes = engine.pool.inUseBytes;
  const ms = await medianOf(runs, async () => {
    const start = performance.now();
    const stats = trainer.step(real);
    await stats.toArray();
    stats.dispose();
    steps++;
    return performance.now() - start;
  });
  const per = (k: keyof typeof before) => (engine.stats[k] - before[k]) / steps;
  const figures = {
    batch, msPerStep: ms, imagesPerSecond: (batch * 1000) / ms,
    dispatchesPerStep: per('dispatches'), submitsPerStep: per('submits'), readbacksPerStep: per('readbacks'),
    peakBytes: engine.pool.peakInUseBytes,
  };
  real.dispose();
  trainer.dispose();
  return figures;
}
