// One DCGAN training step, recorded into the engine's open command encoder: D on a real batch and on G(z)
// detached (losses summed, one D update), then G on a fresh z against the real target (one G update).
// Browser-safe: no file I/O here; the CLI reads data and writes artifacts.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy, backward, noGrad, keep } from '../tensor/autograd.js';
import { setRngState } from '../tensor/state.js';
import { randn, rand } from '../tensor/ops/create.js';
import { sigmoid, add, addScalar, mulScalar } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import { concat } from '../tensor/ops/misc.js';
import { diffAugment, type AugmentPolicy } from '../tensor/ops/augment.js';
import { Adam } from '../nn/adam.js';
import { inference, type Sequential } from '../nn/layers.js';
import { initialise, DEFAULT_WIDTH } from './models.js';
import { findPreset, DEFAULT_PRESET, CONDITIONAL } from './presets.js';
import { buildGeneratorOf, buildDiscriminatorOf, withSignedOutput, conditionalSpec, type GanSpec, type Network } from './spec.js';
import { oneHot } from '../nn/embedding.js';
import { ganLoss, type GanLoss, type GanLossName } from './losses.js';
import { WeightAverage } from './ema.js';
import { modeSeekingLoss, pairedRows } from './mode-seeking.js';
import { gradientPenalty, penaltyRefusal } from './gradient-penalty.js';
import { withOneHot } from './network.js';

export interface GanConfig {
  latentDim: number;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  /** Target for real images in D's loss and for G's loss (0.9: one-sided label smoothing). */
  realLabel: number;
  seed: number;
  /** Adversarial loss: 'bce' (DCGAN's), 'hinge' or 'rpgan' (losses.ts). */
  loss: GanLossName;
  /** Decay of an exponential moving average of G's weights used for sampling; 0 turns it off. */
  ema: number;
  /** Channels of G's and D's layers next to the image (PyTorch's ngf, ndf); the inner layers have twice as many. */
  ngf: number;
  ndf: number;
  /** Spectrally normalised convs in D, without its batchnorm (Miyato et al. 2018). */
  spectralNorm: boolean;
  /** The preset the spec is made from (presets.ts); ngf, ndf and spectralNorm apply to 'dcgan' alone. */
  model: string;
  /** Each of D's targets moves by labelNoise·U(0, 1) toward the other class's (0: none). */
  labelNoise: number;
  /** Class-conditional G (conditional batchnorm, or a class embedding without batchnorm) and projection D (presets.ts CONDITIONAL); absent in older configs: false. */
  conditional?: boolean;
  /** DiffAugment policies applied to every image D sees, real and fake, in both steps ([]: none; ops/augment.ts). */
  augment?: AugmentPolicy[];
  /** Group size of a minibatch-std layer before D's last conv (dcgan alone; 0: none). */
  minibatchStd?: number;
  /** λ of the mode-seeking term in G's loss (Mao et al. 2019; mode-seeking.ts); 0 or absent: none. */
  modeSeeking?: number;
  /** 3×3 conv blocks at G's and D's 14×14 (dcgan alone, presets.ts dcganSpec); 0 or absent: none. */
  extraLayersG?: number;
  extraLayersD?: number;
  /** γ of the R1 penalty γ/2 · E‖∇ₓD(x)‖² on the real images D sees, and of R2 on G's (Mescheder et al. 2018; R3GAN; gradient-penalty.ts); 0 or absent: none. */
  r1?: number;
  r2?: number;
  /** Lazy regularization (StyleGAN2, Karras et al. 2020): the penalties on D's steps 0, K, 2K, … only, weighted K·γ; 1 or absent: every step. */
  dRegEvery?: number;
}

export const DEFAULT_GAN_CONFIG: GanConfig = {
  latentDim: 100, lrG: 2e-4, lrD: 2e-4, beta1: 0.5, beta2: 0.999, realLabel: 0.9, seed: 0, loss: 'bce', ema: 0, ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH, spectralNorm: false, model: DEFAULT_PRESET, labelNoise: 0,
};

/** The four numbers a step reports: D's loss (real + fake), G's loss, mean D(x), mean D(G(z)). */
export interface StepStats {
  lossD: number;
  lossG: number;
  dReal: number;
  dFake: number;
}

/**
 * The spec a config trains: its preset's, at its latent size (and widths, for dcgan), made class-conditional
 * with `conditional` (spec.ts conditionalSpec, presets.ts CONDITIONAL). Throws for an unknown preset, and
 * CheckpointError for a preset that cannot be made conditional.
 */
export function specOfConfig(config: GanConfig): GanSpec {
  const name = config.model ?? DEFAULT_PRESET;
  const preset = findPreset(name);
  if (!preset) throw new Error(`unknown model preset ${JSON.stringify(name)}`);
  const spec = preset.spec({
    latentDim: config.latentDim, ngf: config.ngf ?? DEFAULT_WIDTH, ndf: config.ndf ?? DEFAULT_WIDTH, spectralNorm: config.spectralNorm ?? false,
    minibatchStd: config.minibatchStd ?? 0, extraLayersG: config.extraLayersG ?? 0, extraLayersD: config.extraLayersD ?? 0,
  });
  return config.conditional ? conditionalSpec(spec, { ...CONDITIONAL }) : spec;
}

export class GanTrainer {
  readonly G: Network;
  readonly D: Network;
  /** The architecture and the recipe parts that are not flags (written into checkpoints). */
  readonly spec: GanSpec;
  readonly optG: Adam;
  readonly optD: Adam;
  /** The weight-averaged generator, when config.ema > 0. */
  readonly average: WeightAverage | null;
  private readonly loss: GanLoss;

  private signedSampler: { of: Network; signed: Network } | null = null;

  /** `spec` (a checkpoint's) must be the one its config describes; default specOfConfig(config). */
  constructor(readonly engine: Engine, readonly config: GanConfig, spec: GanSpec = specOfConfig(config)) {
    this.spec = spec;
    setRngState(engine, { seed: config.seed >>> 0, counter: 0 });
    this.G = buildGeneratorOf(engine, spec);
    this.D = buildDiscriminatorOf(engine, spec);
    initialise(engine, this.G, spec.init);
    initialise(engine, this.D, spec.init);
    const eps = spec.training.adamEps;
    this.optG = new Adam(engine, this.G.parameters(), { lr: config.lrG, beta1: config.beta1, beta2: config.beta2, eps });
    this.optD = new Adam(engine, this.D.parameters(), { lr: config.lrD, beta1: config.beta1, beta2: config.beta2, eps });
    const inverted = spec.training.labels === 'real-0';
    this.loss = ganLoss(config.loss ?? 'bce', config.realLabel, {
      real: inverted ? 0 : config.realLabel, fake: inverted ? 1 : 0, noise: config.labelNoise ?? 0,
      uniform: (like) => rand(engine, [...like.shape]),
    });
    const refusal = config.r1 || config.r2 ? penaltyRefusal(spec.discriminator) : null;
    if (refusal) throw new Error(`GanTrainer: the R1/R2 penalties cannot run: ${refusal}`);
    const every = config.dRegEvery ?? 1;
    if (!Number.isInteger(every) || every < 1) throw new Error(`GanTrainer: dRegEvery must be a whole number ≥ 1, got ${every}`);
    const decay = config.ema ?? 0;
    this.average = decay > 0 ? new WeightAverage(engine, buildGeneratorOf(engine, spec), this.G, decay) : null;
  }

  /** Scales both learning rates from their configured values (for a schedule); 1 restores them. */
  setLearningRateScale(scale: number): void {
    this.optG.lr = this.config.lrG * scale;
    this.optD.lr = this.config.lrD * scale;
  }

  /** The generator to sample from, with images in [−1, 1] (see withSignedOutput): the weight average when there is one. */
  get sampler(): Sequential {
    const of = (this.average?.model ?? this.G) as Network;
    if (this.signedSampler?.of !== of) this.signedSampler = { of, signed: withSignedOutput(of, this.spec) };
    return this.signedSampler.signed;
  }

  /**
   * Records one training step on a batch of real images [B, 1, H, W] and returns a [4] tensor of
   * StepStats (read it only when needed: reading forces a submit and a wait). A conditional spec needs the
   * batch's class `labels` (B of them, 0…classes−1); an unconditional one ignores them.
   */
  step(real: Tensor, labels?: ArrayLike<number>): Tensor {
    const { engine, G, D, config } = this;
    const batch = real.shape[0];
    const { image, training, conditional } = this.spec;
    if (conditional && labels?.length !== batch) {
      throw new Error(`GanTrainer.step: a class-conditional model needs the batch's ${batch} labels, got ${labels?.length ?? 'none'}`);
    }
    // DiffAugment: D sees only augmented images, real and fake alike, and G's gradient flows back through it.
    const policy = config.augment ?? [];
    const augment = (x: Tensor) => diffAugment(x, policy);
    return tidy(engine, () => {
      // The data are in [−1, 1]; a sigmoid generator's D reads [0, 1].
      if (image.range === '[0,1]') real = addScalar(mulScalar(real, 0.5), 0.5);
      // Conditional: D sees the real images with their own labels, and G's fakes (in D's step and in G's) are
      // asked for the same batch's labels, so the fakes follow the data's class mix and no random stream is
      // added (a resume stays bitwise).
      const rows = conditional ? oneHot(engine, labels!, conditional.classes) : null;
      const input = (z: Tensor, forRows = rows) => (forRows ? withOneHot(z, forRows) : z);
      const z = randn(engine, [batch, config.latentDim, 1, 1]);
      // D's step uses G(z) detached: run G without recording a graph (the same kernels, so the same numbers;
      // batchnorm still updates its running statistics).
      const fake = noGrad(engine, () => G.forward(input(z)));
      // The penalties read the images D sees (after DiffAugment, as StyleGAN2-ADA takes R1).
      const realSeen = augment(real);
      const fakeSeen = augment(fake);
      const realLogits = D.discriminate(realSeen, rows);
      const fakeLogits = D.discriminate(fakeSeen, rows);
      let lossD = this.loss.discriminator(realLogits, fakeLogits);
      // Lazy regularization: the penalties every K-th step, K times as strong (D's step count survives a resume).
      const every = config.dRegEvery ?? 1;
      const weight = this.optD.step % every === 0 ? every : 0;
      if (config.r1 && weight) lossD = add(lossD, gradientPenalty(D, realSeen, rows, config.r1 * weight));
      if (config.r2 && weight) lossD = add(lossD, gradientPenalty(D, fakeSeen, rows, config.r2 * weight));
      backward(lossD);
      this.optD.update();

      // G's step needs gradients through D but not D's weight gradients; D trains again even if this throws.
      D.setRequiresGrad(false);
      // The Keras project runs D in inference mode (no dropout) inside G's step.
      if (training.discriminatorInGeneratorStep === 'eval') D.eval();
      let lossG: Tensor;
      try {
        const z2 = randn(engine, [batch, config.latentDim, 1, 1]);
        // Mode seeking pairs G's images; a conditional G is asked for one class per pair.
        const seek = config.modeSeeking ?? 0;
        const rowsG = rows && seek ? pairedRows(rows) : rows;
        const fakeG = G.forward(input(z2, rowsG));
        // A pairing loss judges the real batch again with the updated D, before the fakes (the replica's order).
        const realG = this.loss.pairsWithReal ? D.discriminate(augment(real), rowsG) : undefined;
        lossG = this.loss.generator(D.discriminate(augment(fakeG), rowsG), realG);
        backward(seek ? add(lossG, mulScalar(modeSeekingLoss(fakeG, z2), seek)) : lossG);
      } finally {
        D.setRequiresGrad(true);
        D.train();
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
