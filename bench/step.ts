// One DCGAN training step (D step + G step, losses read back) at a given batch size.
import type { Engine } from '../src/runtime/engine.js';
import { GanTrainer, DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { randn } from '../src/tensor/ops/create.js';
import { medianOf } from './stats.js';

export interface StepFigures {
  batch: number;
  msPerStep: number;
  imagesPerSecond: number;
  steps: number;
  warmups: number;
  dispatchesPerStep: number;
  submitsPerStep: number;
  readbacksPerStep: number;
  /** Largest bytes held by live arrays at once. */
  peakBytes: number;
  /** Bytes of the buffers the pool had to create for the step (what it costs the device). */
  poolBytes: number;
  /** Bytes of the texture pool (big matmul operands staged as textures) the step needs. */
  textureBytes: number;
  /** The first step's statistics, a sanity check that it trains: [lossD, lossG, D(x), D(G(z))]. */
  firstStats: number[];
}

export async function benchStep(engine: Engine, batch: number, runs: number, warmups = 1): Promise<StepFigures> {
  const trainer = new GanTrainer(engine, DEFAULT_GAN_CONFIG);
  const real = randn(engine, [batch, 1, 28, 28], 0, 0.5);
  const before = { ...engine.stats };
  let steps = 0;
  let firstStats: number[] = [];
  engine.pool.peakInUseBytes = engine.pool.inUseBytes;
  engine.textures.trim();
  engine.flush();
  engine.pool.trim();
  const poolBefore = engine.pool.allocatedBytes;
  const ms = await medianOf(runs, async () => {
    const start = performance.now();
    const stats = trainer.step(real);
    const values = Array.from(await stats.toArray());
    stats.dispose();
    if (!firstStats.length) firstStats = values;
    steps++;
    return performance.now() - start;
  }, warmups);
  const per = (k: keyof typeof before) => (engine.stats[k] - before[k]) / steps;
  const figures = {
    batch, msPerStep: ms, imagesPerSecond: (batch * 1000) / ms, steps: runs, warmups,
    dispatchesPerStep: per('dispatches'), submitsPerStep: per('submits'), readbacksPerStep: per('readbacks'),
    peakBytes: engine.pool.peakInUseBytes, poolBytes: engine.pool.allocatedBytes - poolBefore, textureBytes: engine.textures.allocatedBytes, firstStats,
  };
  real.dispose();
  trainer.dispose();
  return figures;
}
