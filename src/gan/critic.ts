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
import { streamSeed } from './streams.js';
import { chunkRanges, forEachGenerated, inferenceChunk, sampleLatents } from './sampling.js';
import { ConditionalGenerator, balancedLabels, generatorInput } from './network.js';

export interface CriticOptions {
  lr?: number;
  /** Channels of the layer next to the image (the discriminator's ndf). */
  width?: number;
  /**
   * Seeds the critic's initial weights (stream streamSeed(seed, 'critic.init'), one counter per tensor) and z at
   * step k (key (streamSeed(seed, 'critic.z'), k)): two streams that never share a key.
   */
  seed?: number;
  /** The standard deviation of G's z (the generator file's own sampling temperature); default 1. */
  temperature?: number;
}

/** Where G's z come from: keys (seed, b) at this standard deviation (default 1). */
export interface LatentStream {
  seed: number;
  temperature?: number;
}

/** The streams CriticTrainer draws from for a seed. */
export const criticStreams = (seed: number) => ({ init: streamSeed(seed, 'critic.init'), z: streamSeed(seed, 'critic.z') });

export class CriticTrainer {
  readonly critic: Sequential;
  readonly optimizer: Adam;
  private readonly zSeed: number;
  private readonly temperature: number;
  private steps = 0;
  private targets: Tensor | null = null;

  constructor(readonly engine: Engine, readonly G: Sequential, readonly latentDim: number, { lr = 2e-4, width = DEFAULT_WIDTH, seed = 0, temperature = 1 }: CriticOptions = {}) {
    const streams = criticStreams(seed >>> 0);
    this.zSeed = streams.z;
    this.temperature = temperature;
    const rng = rngState(engine);
    setRngState(engine, { seed: streams.init, counter: 0 });
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
    const drawn = sampleLatents(engine, batch, this.latentDim, { seed: this.zSeed, counter: this.steps++ }, this.temperature);
    // A class-conditional G makes the classes in turn (balancedLabels).
    const z = generatorInput(engine, this.G, drawn);
    if (z !== drawn) drawn.dispose();
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

/** Images per z draw when the critic scores generated images: it defines the z stream (key (seed, b) for batch b). */
export const CRITIC_Z_BATCH = 250;

/** The critic's logits for `count` images laid out count×H×W on the host, in chunks (default inferenceChunk). */
export async function criticLogitsOfImages(engine: Engine, critic: Sequential, images: Float32Array, count: number, height: number, width: number, chunk = inferenceChunk(engine, DEFAULT_WIDTH)): Promise<Float32Array> {
  const out = new Float32Array(count);
  const pixels = height * width;
  for (const { start, count: m } of chunkRanges(count, chunk)) {
    const x = tensor(engine, images.subarray(start * pixels, (start + m) * pixels), [m, 1, height, width]);
    try {
      out.set(await readLogits(engine, critic, x), start);
    } finally {
      x.dispose();
    }
  }
  return out;
}

/**
 * The critic's logits for `count` fresh images of G, z for batch b (of CRITIC_Z_BATCH images) from the key
 * (stream.seed, b) at stream.temperature, as npm run evaluate draws them; G and the critic run in chunks of at most `chunk` images.
 * `use`, when given, also sees each chunk's images on the GPU and where they start.
 */
export async function generatedCriticLogits(engine: Engine, critic: Sequential, G: Sequential, latentDim: number, first: number, count: number, stream: LatentStream,
  use?: (images: Tensor, start: number) => Promise<void>, chunk = Math.min(inferenceChunk(engine, G), inferenceChunk(engine, DEFAULT_WIDTH))): Promise<Float32Array> {
  if (first % CRITIC_Z_BATCH !== 0) throw new Error(`generatedCriticLogits: first (${first}) must start a z batch of ${CRITIC_Z_BATCH}`);
  const out = new Float32Array(count);
  for (let start = 0; start < count; start += CRITIC_Z_BATCH) {
    const m = Math.min(CRITIC_Z_BATCH, count - start);
    const drawn = sampleLatents(engine, m, latentDim, { seed: stream.seed, counter: (first + start) / CRITIC_Z_BATCH }, stream.temperature);
    const z = G instanceof ConditionalGenerator ? generatorInput(engine, G, drawn, balancedLabels(first + start, m, G.classes)) : drawn;
    if (z !== drawn) drawn.dispose();
    try {
      await forEachGenerated(engine, G, z, chunk, async (images, offset) => {
        out.set(await readLogits(engine, critic, images), start + offset);
        await use?.(images, start + offset);
      });
    } finally {
      z.dispose();
    }
  }
  return out;
}

async function readLogits(engine: Engine, critic: Sequential, images: Tensor): Promise<Float32Array> {
  const logits = criticLogits(engine, critic, images);
  try {
    return await logits.toArray();
  } finally {
    logits.dispose();
  }
}
