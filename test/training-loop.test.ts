// The library training loop (gan/training-loop.ts): its callbacks in order, stops of every kind (mid-epoch and on
// an epoch's last step), resume state, the NaN stop; GanTrainer's step hygiene; the up-front step size check.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, rng } from './helpers.js';
import { Batcher } from '../src/data/batches.js';
import { GanTrainer, DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { runTraining, NonFiniteLossError, type TrainingCallbacks, type CheckpointMoment, type EpochTotals } from '../src/gan/training-loop.js';
import { stepTooLarge, largestBatchThatFits, largestStepBuffer, bufferLimit, formatBytes } from '../src/gan/step-memory.js';
import { randn, copyInto, fill } from '../src/tensor/ops/create.js';
import type { Tensor } from '../src/tensor/tensor.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

const config = { ...DEFAULT_GAN_CONFIG, ngf: 4, ndf: 4, latentDim: 8, seed: 9 };

/** 12 random images in batches of 4: 3 steps per epoch. */
function batcher(): Batcher {
  const r = rng(1);
  const images = Float32Array.from({ length: 12 * 784 }, () => r() * 2 - 1);
  return new Batcher({ images, labels: new Uint8Array(12), count: 12, itemSize: 784 }, 4, { seed: 2 });
}

/** Runs the loop recording every callback as a short string. */
async function recorded(opts: { epochs: number; maxSteps?: number; stopAtStep?: number; signal?: AbortController; resume?: { step: number; totals: EpochTotals }; b?: Batcher; trainer?: GanTrainer }) {
  const events: string[] = [];
  const moments: CheckpointMoment[] = [];
  const stop = { requested: false };
  const trainer = opts.trainer ?? new GanTrainer(engine, config);
  const callbacks: TrainingCallbacks = {
    onStep: (s) => {
      events.push(`step ${s.step} e${s.epoch} b${s.batchIndex}`);
      if (opts.stopAtStep === s.step) {
        if (opts.signal) opts.signal.abort();
        else stop.requested = true;
      }
    },
    onEpochEnd: (e) => {
      events.push(`epoch ${e.epoch} (${e.steps} steps)`);
      expect(Number.isFinite(e.lossD) && Number.isFinite(e.imagesPerSecond)).toBe(true);
    },
    onCheckpoint: (m) => {
      events.push(`checkpoint ${m.step} done ${m.epochsDone}${m.epochEnd ? ' epoch' : ''}`);
      moments.push({ ...m, totals: { ...m.totals } });
    },
  };
  try {
    const outcome = await runTraining({
      trainer, batcher: opts.b ?? batcher(), imageShape: [1, 28, 28],
      schedule: { epochs: opts.epochs, decayEpochs: 0, maxSteps: opts.maxSteps }, resume: opts.resume, callbacks,
      stop: opts.signal?.signal ?? stop,
    });
    return { outcome, events, moments };
  } finally {
    if (!opts.trainer) trainer.dispose();
  }
}

describe('runTraining', () => {
  it('calls onStep every step, then onEpochEnd and an epoch checkpoint at each epoch end', async () => {
    const { outcome, events } = await recorded({ epochs: 2 });
    expect(outcome).toEqual({ steps: 6, epochsDone: 2, stopped: null });
    expect(events).toEqual([
      'step 1 e1 b0', 'step 2 e1 b1', 'step 3 e1 b2', 'epoch 1 (3 steps)', 'checkpoint 3 done 1 epoch',
      'step 4 e2 b0', 'step 5 e2 b1', 'step 6 e2 b2', 'epoch 2 (3 steps)', 'checkpoint 6 done 2 epoch',
    ]);
  });

  // Each stop kind, mid-epoch and on an epoch's last step: the last-step stop still ends its epoch, with one checkpoint.
  const stops: [string, { maxSteps?: number; stopAtStep?: number; abort?: boolean }, string[], string][] = [
    ['--max-steps mid-epoch', { maxSteps: 2 }, ['step 1 e1 b0', 'step 2 e1 b1', 'checkpoint 2 done 0'], 'max-steps'],
    ['--max-steps on the last step', { maxSteps: 3 }, ['step 1 e1 b0', 'step 2 e1 b1', 'step 3 e1 b2', 'epoch 1 (3 steps)', 'checkpoint 3 done 1 epoch'], 'max-steps'],
    ['a stop request mid-epoch', { stopAtStep: 4 }, ['step 1 e1 b0', 'step 2 e1 b1', 'step 3 e1 b2', 'epoch 1 (3 steps)', 'checkpoint 3 done 1 epoch', 'step 4 e2 b0', 'checkpoint 4 done 1'], 'requested'],
    ['a stop request on the last step', { stopAtStep: 6 }, ['step 1 e1 b0', 'step 2 e1 b1', 'step 3 e1 b2', 'epoch 1 (3 steps)', 'checkpoint 3 done 1 epoch', 'step 4 e2 b0', 'step 5 e2 b1', 'step 6 e2 b2', 'epoch 2 (3 steps)', 'checkpoint 6 done 2 epoch'], 'requested'],
    ['an AbortSignal on the last step', { stopAtStep: 3, abort: true }, ['step 1 e1 b0', 'step 2 e1 b1', 'step 3 e1 b2', 'epoch 1 (3 steps)', 'checkpoint 3 done 1 epoch'], 'requested'],
    ['an AbortSignal mid-epoch', { stopAtStep: 1, abort: true }, ['step 1 e1 b0', 'checkpoint 1 done 0'], 'requested'],
  ];
  for (const [what, s, expected, reason] of stops) {
    it(`stops after ${what}`, async () => {
      const { outcome, events } = await recorded({ epochs: 3, maxSteps: s.maxSteps, stopAtStep: s.stopAtStep, signal: s.abort ? new AbortController() : undefined });
      expect(events).toEqual(expected);
      expect(outcome.stopped).toBe(reason);
    });
  }

  it('a stop mid-epoch saves the partial totals; resuming from them gives whole-epoch means', async () => {
    const b = batcher();
    const trainer = new GanTrainer(engine, config);
    try {
      const first = await recorded({ epochs: 1, maxSteps: 2, b, trainer });
      const saved = first.moments[0];
      expect(saved).toMatchObject({ step: 2, epochsDone: 0, epochEnd: false, reason: 'stop' });
      expect(saved.totals.steps).toBe(2);
      const second = await recorded({ epochs: 1, b, trainer, resume: { step: saved.step, totals: saved.totals } });
      expect(second.events).toEqual(['step 3 e1 b2', 'epoch 1 (3 steps)', 'checkpoint 3 done 1 epoch']);
      expect(second.moments[0].totals.steps).toBe(0);
    } finally {
      trainer.dispose();
    }
  });

  it("a checkpoint taken on an epoch's last step without its records (older builds) gets them first on resume", async () => {
    const b = batcher();
    const trainer = new GanTrainer(engine, config);
    try {
      await recorded({ epochs: 3, maxSteps: 3, b, trainer });
      // The batcher stands after epoch 1's last batch; the old build saved that epoch's totals un-ended.
      const totals = { lossD: 3, lossG: 3, dReal: 1.5, dFake: 1.5, steps: 3, seconds: 1 };
      const { events } = await recorded({ epochs: 2, b, trainer, resume: { step: 3, totals } });
      expect(events.slice(0, 3)).toEqual(['epoch 1 (3 steps)', 'checkpoint 3 done 1 epoch', 'step 4 e2 b0']);
      expect(events.filter((e) => e.startsWith('epoch'))).toEqual(['epoch 1 (3 steps)', 'epoch 2 (3 steps)']);
    } finally {
      trainer.dispose();
    }
  });

  it('throws NonFiniteLossError before any callback sees a NaN step', async () => {
    const trainer = new GanTrainer(engine, config);
    try {
      const last = trainer.D.parameters().at(-1)!;
      copyInto(last, fill(engine, last.shape, Number.NaN));
      const run = recorded({ epochs: 1, trainer });
      await expect(run).rejects.toBeInstanceOf(NonFiniteLossError);
      await expect(run).rejects.toThrow(/loss became NaN at epoch 1, step 1/);
    } finally {
      trainer.dispose();
    }
  });
});

describe('GanTrainer.step', () => {
  it("runs G's first forward (only used detached) without recording a graph; the second records one", async () => {
    const trainer = new GanTrainer(engine, config);
    const outputs: Tensor[] = [];
    const forward = trainer.G.forward.bind(trainer.G);
    trainer.G.forward = (x: Tensor) => {
      const y = forward(x);
      outputs.push(y);
      return y;
    };
    const real = randn(engine, [4, 1, 28, 28]);
    try {
      trainer.step(real).dispose();
      expect(outputs).toHaveLength(2);
      expect([outputs[0].requiresGrad, outputs[0].backwardFn === null, outputs[0].parents.length]).toEqual([false, true, 0]);
      expect(outputs[1].backwardFn).not.toBeNull();
    } finally {
      real.dispose();
      trainer.dispose();
    }
  });

  it("D's parameters require gradients again when G's step throws", async () => {
    for (const failAt of ['G forward', 'D forward']) {
      const trainer = new GanTrainer(engine, config);
      let calls = 0;
      const model = failAt === 'G forward' ? trainer.G : trainer.D;
      const failOn = failAt === 'G forward' ? 2 : 3; // G: the second forward; D: real, fake, then G's step
      const forward = model.forward.bind(model);
      model.forward = (x: Tensor) => {
        if (++calls === failOn) throw new Error(`injected failure in ${failAt}`);
        return forward(x);
      };
      const real = randn(engine, [4, 1, 28, 28]);
      try {
        expect(() => trainer.step(real)).toThrow(/injected failure/);
        expect(trainer.D.parameters().every((p) => p.requiresGrad), failAt).toBe(true);
      } finally {
        real.dispose();
        trainer.dispose();
      }
    }
  });
});

describe('step size check', () => {
  const limits = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 32 - 1 };
  const sizes = (batchSize: number, ngf = 64, ndf = 64, latentDim = 100) => ({ batchSize, ngf, ndf, latentDim });

  it("finds D layer 2's unfolded input as the largest buffer of a wide batch (the 128 MiB binding limit's case)", () => {
    expect(largestStepBuffer(sizes(700, 32, 64)).what).toMatch(/D layer 2's unfolded input/);
    expect(largestStepBuffer(sizes(700, 64, 32)).what).toMatch(/G layer 3's unfolded input/);
    const largest = largestStepBuffer(sizes(700));
    expect(largest.bytes).toBe(64 * 16 * 700 * 49 * 4);
    expect(formatBytes(largest.bytes)).toBe('140.5 MB');
    expect(formatBytes(bufferLimit(limits))).toBe('128 MiB');
  });

  it.each([
    // batch, ngf, ndf, latent, fits, largest batch that fits
    [700, 64, 64, 100, false, 668],
    [668, 64, 64, 100, true, 668],
    [669, 64, 64, 100, false, 668],
    [128, 64, 64, 100, true, 668],
    [4096, 64, 64, 100, false, 668],
    [300, 64, 256, 100, false, 167],
    [300, 256, 64, 100, false, 167],
    [1, 1024, 8, 100, false, 0], // the 64 fixed z of the sample grids need G's 784·1024·64 floats
    [8, 1024, 1024, 4096, false, 0], // G's first weight alone: 4096·2048·49 floats
  ] as const)('batch %i, ngf %i, ndf %i, latent %i: fits %s, largest batch %i', (batch, ngf, ndf, latent, fits, largest) => {
    const result = stepTooLarge(sizes(batch, ngf, ndf, latent), bufferLimit(limits));
    expect(result === null).toBe(fits);
    expect(largestBatchThatFits({ ngf, ndf, latentDim: latent }, bufferLimit(limits))).toBe(largest);
    if (result) expect(result.largestBatch).toBe(largest);
  });

  it("counts the extra layers' 3×3 unfolded inputs (ngf·9 × batch·196), which outgrow every other buffer", () => {
    expect(largestStepBuffer({ ...sizes(128), extraLayersG: 1 }).what).toMatch(/G's extra layer unfolded input/);
    expect(largestStepBuffer({ ...sizes(128, 32, 64), extraLayersD: 2 }).what).toMatch(/D's extra layer unfolded input/);
    expect(largestStepBuffer({ ...sizes(128), extraLayersG: 1 }).bytes).toBe(64 * 9 * 128 * 196 * 4);
    // 2^27 / (576 · 196 · 4) = 297.2
    expect(largestBatchThatFits({ ngf: 64, ndf: 64, latentDim: 100, extraLayersG: 1 }, bufferLimit(limits))).toBe(297);
    expect(largestBatchThatFits({ ngf: 64, ndf: 64, latentDim: 100, extraLayersD: 1 }, bufferLimit(limits))).toBe(297);
    expect(largestBatchThatFits({ ngf: 64, ndf: 64, latentDim: 100, extraLayersG: 0 }, bufferLimit(limits))).toBe(668);
  });

  it('takes the smaller of the binding and buffer limits', () => {
    expect(bufferLimit({ maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 28 })).toBe(2 ** 28);
    expect(stepTooLarge(sizes(700), bufferLimit({ maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 }))).toBeNull();
  });
});
