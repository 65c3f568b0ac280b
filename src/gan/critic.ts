// A critic trained after the fact for discriminator rejection sampling (Azadi et al. 2019): the reference
// discriminator's architecture learns to tell real training images from a fixed generator's images, with targets
// 1 and 0 and no smoothing, so that its logit estimates log p_data(x) / p_G(x), as the optimal discriminator's
// does. The GAN's own discriminator is not used: it chases a moving generator and is trained with smoothed labels.
// Browser-safe: no file I/O here.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy, backward, keep } from '../tensor/autograd.js';
import { rngState, setRngState } from '../tensor/state.js';
import { tensor, randn } from '../tensor/ops/create.js';
import { concat } from '../tensor/ops/misc.js';
import { bceWithLogits } from '../tensor/ops/loss.js';
import { Adam } from '../nn/adam.js';
import { inference, type Sequential } from '../nn/layers.js';
import { buildDiscriminator, dcganInit, DEFAULT_WIDTH } from './models.js';
import { generate } from './trainer.js';

export interface CriticOptions {
  lr?: number;
  /** Channels of the layer next to the image (the discriminator's ndf). */
  width?: number;
  /** Seeds the critic's initial weights and the generator's z stream. */
  seed?: number;
}

export class CriticTrainer {
  readonly critic: Sequential;
  readonly optimizer: Adam;
  private readonly seed: number;
  private steps = 0;
  private targets: Tensor | null = null;

  constructor(readonly engine: Engine, readonly G: Sequential, readonly latentDim: number, { lr = 2e-4, width = DEFAULT_WIDTH, seed = 0 }: CriticOptions = {}) {
    this.seed = seed >>> 0;
    const rng = rngState(engine);
    setRngState(engine, { seed: this.seed, counter: 0 });
    this.critic = buildDiscriminator(engine, width);
    dcganInit(engine, this.critic);
    setRngState(engine, rng);
    this.optimizer = new Adam(engine, this.critic.parameters(), { lr, beta1: 0.5, beta2: 0.999 });
  }

  /**
   * One update on a batch of real images [B, 1, H, W] and as many of G's (eval mode); returns the loss as a
   * [1] tensor. Real and generated images go through as one batch, so that batchnorm's batch statistics in
   * training are those of the mixture that its running statistics, used when scoring, estimate.
   */
  step(real: Tensor): Tensor {
    const { engine } = this;
    const batch = real.shape[0];
    if (this.targets?.shape[0] !== 2 * batch) {
      this.targets?.dispose();
      this.targets = tensor(engine, Array.from({ length: 2 * batch }, (_, i) => (i < batch ? 1 : 0)), [2 * batch, 1]);
    }
    const targets = this.targets;
    const z = randn(engine, [batch, this.latentDim, 1, 1], 0, 1, { key: { seed: this.seed, counter: this.steps++ } });
    const fake = generate(engine, this.G, z);
    try {
      return tidy(engine, () => {
        this.critic.train(true);
        const loss = bceWithLogits(this.critic.forward(concat([real, fake], 0)), targets);
        backward(loss);
        this.optimizer.update();
        return keep(loss);
      });
    } finally {
      z.dispose();
      fake.dispose();
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.critic.dispose();
    this.targets?.dispose();
  }
}

/** The critic's logits [N] for images [N, 1, H, W] (eval mode, no graph). */
export function criticLogits(engine: Engine, critic: Sequential, images: Tensor): Tensor {
  return inference(engine, critic, images);
}
