// One DCGAN training step, recorded into the engine's open command encoder: D on a real batch and on G(z)
// detached (losses summed, one D update), then G on a fresh z against the real target (one G update).
// Browser-safe: no file I/O here; the CLI reads data and writes artifacts.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy, backward, noGrad, keep } from '../tensor/autograd.js';
import { setRngState } from '../tensor/state.js';
import { randn } from '../tensor/ops/create.js';
import { sigmoid } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import { concat } from '../tensor/ops/misc.js';
import { Adam } from '../nn/adam.js';
import { inference, type Sequential } from '../nn/layers.js';
import { buildGenerator, buildDiscriminator, dcganInit, DEFAULT_WIDTH } from './models.js';
import { ganLoss, type GanLoss, type GanLossName } from './losses.js';
import { WeightAverage } from './ema.js';

export interface GanConfig {
  latentDim: number;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  /** Target for real images in D's loss and for G's loss (0.9: one-sided label smoothing). */
  realLabel: number;
  seed: number;
  /** Adversarial loss: 'bce' (DCGAN's) or 'hinge'. */
  loss: GanLossName;
  /** Decay of an exponential moving average of G's weights used for sampling; 0 turns it off. */
  ema: number;
  /** Channels of G's and D's layers next to the image (PyTorch's ngf, ndf); the inner layers have twice as many. */
  ngf: number;
  ndf: number;
  /** Spectrally normalised convs in D, without its batchnorm (Miyato et al. 2018). */
  spectralNorm: boolean;
}

export const DEFAULT_GAN_CONFIG: GanConfig = {
  latentDim: 100, lrG: 2e-4, lrD: 2e-4, beta1: 0.5, beta2: 0.999, realLabel: 0.9, seed: 0, loss: 'bce', ema: 0, ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH, spectralNorm: false,
};

/** The four numbers a step reports: D's loss (real + fake), G's loss, mean D(x), mean D(G(z)). */
export interface StepStats {
  lossD: number;
  lossG: number;
  dReal: number;
  dFake: number;
}

export class GanTrainer {
  readonly G: Sequential;
  readonly D: Sequential;
  readonly optG: Adam;
  readonly optD: Adam;
  /** The weight-averaged generator, when config.ema > 0. */
  readonly average: WeightAverage | null;
  private readonly loss: GanLoss;

  constructor(readonly engine: Engine, readonly config: GanConfig) {
    setRngState(engine, { seed: config.seed >>> 0, counter: 0 });
    this.G = buildGenerator(engine, config.latentDim, config.ngf);
    this.D = buildDiscriminator(engine, config.ndf, { spectralNorm: config.spectralNorm ?? false });
    dcganInit(engine, this.G);
    dcganInit(engine, this.D);
    this.optG = new Adam(engine, this.G.parameters(), { lr: config.lrG, beta1: config.beta1, beta2: config.beta2 });
    this.optD = new Adam(engine, this.D.parameters(), { lr: config.lrD, beta1: config.beta1, beta2: config.beta2 });
    this.loss = ganLoss(config.loss ?? 'bce', config.realLabel);
    const decay = config.ema ?? 0;
    this.average = decay > 0 ? new WeightAverage(engine, buildGenerator(engine, config.latentDim, config.ngf), this.G, decay) : null;
  }

  /** Scales both learning rates from their configured values (for a schedule); 1 restores them. */
  setLearningRateScale(scale: number): void {
    this.optG.lr = this.config.lrG * scale;
    this.optD.lr = this.config.lrD * scale;
  }

  /** The generator to sample from: the weight average when there is one. */
  get sampler(): Sequential {
    return this.average?.model ?? this.G;
  }

  /**
   * Records one training step on a batch of real images [B, 1, H, W] and returns a [4] tensor of
   * StepStats (read it only when needed: reading forces a submit and a wait).
   */
  step(real: Tensor): Tensor {
    const { engine, G, D, config } = this;
    const batch = real.shape[0];
    return tidy(engine, () => {
      const z = randn(engine, [batch, config.latentDim, 1, 1]);
      // D's step uses G(z) detached: run G without recording a graph (the same kernels, so the same numbers;
      // batchnorm still updates its running statistics).
      const fake = noGrad(engine, () => G.forward(z));
      const realLogits = D.forward(real);
      const fakeLogits = D.forward(fake);
      const lossD = this.loss.discriminator(realLogits, fakeLogits);
      backward(lossD);
      this.optD.update();

      // G's step needs gradients through D but not D's weight gradients; D trains again even if this throws.
      D.setRequiresGrad(false);
      let lossG: Tensor;
      try {
        const z2 = randn(engine, [batch, config.latentDim, 1, 1]);
        lossG = this.loss.generator(D.forward(G.forward(z2)));
        backward(lossG);
      } finally {
        D.setRequiresGrad(true);
      }
      this.optG.update();
      this.average?.update(this.optG.step);

      return keep(noGrad(engine, () => concat([
        reshape(lossD, [1]),
        reshape(lossG, [1]),
        reshape(mean(sigmoid(realLogits)), [1]),
        reshape(mean(sigmoid(fakeLogits)), [1]),
      ], 0)));
    });
  }

  /** G(z) in eval mode (batchnorm running statistics), without a graph; from the weight average when there is one. */
  sample(z: Tensor): Tensor {
    return generate(this.engine, this.sampler, z);
  }

  dispose(): void {
    this.optG.dispose();
    this.optD.dispose();
    this.G.dispose();
    this.D.dispose();
    this.average?.dispose();
  }
}

export function generate(engine: Engine, G: Sequential, z: Tensor): Tensor {
  return inference(engine, G, z);
}

export function toStats(values: Float32Array): StepStats {
  return { lossD: values[0], lossG: values[1], dReal: values[2], dFake: values[3] };
}
