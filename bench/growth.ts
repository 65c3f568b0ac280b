// "No growth over many steps": N training steps at a small batch, each read back as training does, with the
// buffer and texture pools' figures before and after. A leak shows as more buffers created or more bytes held at the end.
import type { Engine } from '../src/runtime/engine.js';
import { GanTrainer, DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { randn } from '../src/tensor/ops/create.js';
import { median } from './stats.js';

export interface PoolSnapshot {
  allocatedBytes: number;
  inUseBytes: number;
  buffersCreated: number;
  texturesCreated: number;
  textureBytes: number;
  pipelines: number;
}

export interface GrowthFigures {
  batch: number;
  steps: number;
  start: PoolSnapshot;
  end: PoolSnapshot;
  /** Median step time over the first and the last tenth of the steps. */
  msFirst: number;
  msLast: number;
  grew: boolean;
}

const WARMUP_STEPS = 2;

function snapshot(engine: Engine): PoolSnapshot {
  const { allocatedBytes, inUseBytes, buffersCreated } = engine.pool;
  const { texturesCreated, allocatedBytes: textureBytes } = engine.textures;
  return { allocatedBytes, inUseBytes, buffersCreated, texturesCreated, textureBytes, pipelines: engine.stats.pipelines };
}

export async function benchGrowth(engine: Engine, steps: number, batch: number, log: (line: string) => void): Promise<GrowthFigures> {
  const trainer = new GanTrainer(engine, DEFAULT_GAN_CONFIG);
  const real = randn(engine, [batch, 1, 28, 28], 0, 0.5);
  const step = async () => {
    const startMs = performance.now();
    const stats = trainer.step(real);
    await stats.toArray();
    stats.dispose();
    return performance.now() - startMs;
  };
  for (let i = 0; i < WARMUP_STEPS; i++) await step();
  const start = snapshot(engine);
  const times: number[] = [];
  const every = Math.max(1, Math.round(steps / 10));
  for (let i = 1; i <= steps; i++) {
    times.push(await step());
    if (i % every === 0 || i === steps) {
      const s = snapshot(engine);
      log(`  step ${i}/${steps}: ${times[i - 1].toFixed(0)} ms, pool ${(s.allocatedBytes / 2 ** 20).toFixed(1)} MB in ${s.buffersCreated} buffers, ${(s.inUseBytes / 2 ** 20).toFixed(1)} MB in use, ` +
        `${(s.textureBytes / 2 ** 20).toFixed(1)} MB in ${s.texturesCreated} textures`);
    }
  }
  const end = snapshot(engine);
  real.dispose();
  trainer.dispose();
  const tenth = Math.max(1, Math.floor(steps / 10));
  return {
    batch, steps, start, end,
    msFirst: median(times.slice(0, tenth)), msLast: median(times.slice(-tenth)),
    grew: end.allocatedBytes > start.allocatedBytes || end.buffersCreated > start.buffersCreated || end.inUseBytes > start.inUseBytes || end.pipelines > start.pipelines ||
      end.texturesCreated > start.texturesCreated || end.textureBytes > start.textureBytes,
  };
}
