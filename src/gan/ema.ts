// A generator whose weights (and batchnorm running statistics) are an exponential moving average of the
// trained one's, used for sampling: averaged weights give smoother, often better samples than the last step's.
import type { Engine } from '../runtime/engine.js';
import { copyInto } from '../tensor/ops/create.js';
import { emaKernel } from '../kernels/ema.js';
import type { Sequential } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';

export class WeightAverage {
  private readonly pairs: [average: Tensor, source: Tensor][];

  /** `model` is a fresh copy of `source`'s architecture; it starts equal to source and is then averaged. */
  constructor(readonly engine: Engine, readonly model: Sequential, source: Sequential, readonly decay: number) {
    const target = model.stateDict();
    this.pairs = [...source.stateDict()].map(([name, t]) => {
      const average = target.get(name);
      if (!average || average.size !== t.size) throw new Error(`WeightAverage: the copy has no tensor "${name}" of ${t.size} elements`);
      return [average, t];
    });
    model.eval();
    model.setRequiresGrad(false);
    this.reset();
  }

  /** Copies the source's current weights. */
  reset(): void {
    for (const [average, source] of this.pairs) copyInto(average, source);
  }

  /**
   * Folds in the source's weights after optimizer step `step` (1-based). The decay ramps up as
   * min(decay, (1 + step)/(10 + step)), as TensorFlow's ExponentialMovingAverage does with num_updates, so
   * the average forgets the random initial weights within the first few hundred steps.
   */
  update(step: number): void {
    const decay = Math.min(this.decay, (1 + step) / (10 + step));
    for (const [average, source] of this.pairs) emaKernel(average, source, decay);
  }

  dispose(): void {
    this.model.dispose();
  }
}
