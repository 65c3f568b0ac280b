// The reference DCGAN for 28×28 grayscale images, layer for layer as the issue specifies. Layers followed by
// batchnorm have no bias (it would be cancelled by the normalisation), as in PyTorch's DCGAN example.
// `width` is that example's ngf / ndf: the channel count of the layer next to the image (64 in the reference).
import type { Engine } from '../runtime/engine.js';
import { Module } from '../nn/module.js';
import { Sequential, ConvTranspose2d, Conv2d, BatchNorm2d, ReLU, LeakyReLU, Tanh, Flatten } from '../nn/layers.js';
import { SpectralNormConv2d } from '../nn/spectral-norm.js';
import { randn, fill, copyInto } from '../tensor/ops/create.js';
import { tidy } from '../tensor/autograd.js';

export const DEFAULT_WIDTH = 64;
/** The largest z and layer width a model may have: the caps of --latent-dim and --ngf/--ndf, also applied to files. */
export const MAX_LATENT_DIM = 4096;
export const MAX_WIDTH = 1024;

/** A model's state dict as names and shapes, known without building it (so a file can be checked first). */
export interface StateShapes {
  parameters: [string, number[]][];
  buffers: [string, number[]][];
}

const batchNormShapes = (at: number, channels: number): StateShapes => ({
  parameters: [[`${at}.weight`, [channels]], [`${at}.bias`, [channels]]],
  buffers: [[`${at}.running_mean`, [channels]], [`${at}.running_var`, [channels]]],
});
const merge = (...parts: StateShapes[]): StateShapes => ({
  parameters: parts.flatMap((p) => p.parameters),
  buffers: parts.flatMap((p) => p.buffers),
});
const weightOnly = (at: number, shape: number[]): StateShapes => ({ parameters: [[`${at}.weight`, shape]], buffers: [] });

/** The names and shapes of buildGenerator(engine, latentDim, width)'s state dict (a test keeps them in step). */
export function generatorStateShapes(latentDim: number, width = DEFAULT_WIDTH): StateShapes {
  return merge(
    weightOnly(0, [latentDim, 2 * width, 7, 7]), batchNormShapes(1, 2 * width),
    weightOnly(3, [2 * width, width, 4, 4]), batchNormShapes(4, width),
    weightOnly(6, [width, 1, 4, 4]),
  );
}

/** The names and shapes of buildDiscriminator(engine, width, { spectralNorm })'s state dict. */
export function discriminatorStateShapes(width = DEFAULT_WIDTH, { spectralNorm = false } = {}): StateShapes {
  if (spectralNorm) {
    const sn = (at: number, inC: number, outC: number, k: number): StateShapes => ({
      parameters: [[`${at}.weight`, [outC, inC, k, k]]],
      buffers: [[`${at}.weight_u`, [outC, 1]], [`${at}.weight_v`, [inC * k * k, 1]]],
    });
    return merge(sn(0, 1, width, 4), sn(2, width, 2 * width, 4), sn(4, 2 * width, 1, 7));
  }
  return merge(
    weightOnly(0, [width, 1, 4, 4]), weightOnly(2, [2 * width, width, 4, 4]), batchNormShapes(3, 2 * width),
    weightOnly(5, [1, 2 * width, 7, 7]),
  );
}

export function buildGenerator(engine: Engine, latentDim = 100, width = DEFAULT_WIDTH): Sequential {
  return new Sequential(
    new ConvTranspose2d(engine, latentDim, 2 * width, 7, { stride: 1, padding: 0, bias: false }),
    new BatchNorm2d(engine, 2 * width),
    ReLU(),
    new ConvTranspose2d(engine, 2 * width, width, 4, { stride: 2, padding: 1, bias: false }),
    new BatchNorm2d(engine, width),
    ReLU(),
    new ConvTranspose2d(engine, width, 1, 4, { stride: 2, padding: 1, bias: false }),
    Tanh(),
  );
}

export function buildDiscriminator(engine: Engine, width = DEFAULT_WIDTH, { spectralNorm = false } = {}): Sequential {
  if (spectralNorm) {
    // Miyato et al.'s setting: every conv spectrally normalised and no batchnorm (σ would be undone by it).
    return new Sequential(
      new SpectralNormConv2d(engine, 1, width, 4, { stride: 2, padding: 1, bias: false }),
      LeakyReLU(0.2),
      new SpectralNormConv2d(engine, width, 2 * width, 4, { stride: 2, padding: 1, bias: false }),
      LeakyReLU(0.2),
      new SpectralNormConv2d(engine, 2 * width, 1, 7, { stride: 1, padding: 0, bias: false }),
      Flatten(),
    );
  }
  return new Sequential(
    new Conv2d(engine, 1, width, 4, { stride: 2, padding: 1, bias: false }),
    LeakyReLU(0.2),
    new Conv2d(engine, width, 2 * width, 4, { stride: 2, padding: 1, bias: false }),
    new BatchNorm2d(engine, 2 * width),
    LeakyReLU(0.2),
    new Conv2d(engine, 2 * width, 1, 7, { stride: 1, padding: 0, bias: false }),
    Flatten(),
  );
}

/** DCGAN initialisation (Radford et al.): conv weights N(0, 0.02), batchnorm γ N(1, 0.02) and β 0. */
export function dcganInit(engine: Engine, model: Module): void {
  tidy(engine, () => {
    for (const [, m] of model.namedModules()) {
      if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
        copyInto(m.weight, randn(engine, m.weight.shape, 0, 0.02));
        if (m.bias) copyInto(m.bias, fill(engine, m.bias.shape, 0));
      } else if (m instanceof BatchNorm2d) {
        copyInto(m.weight, randn(engine, m.weight.shape, 1, 0.02));
        copyInto(m.bias, fill(engine, m.bias.shape, 0));
      }
    }
  });
}

/** One line per layer with its parameter count, for the training header. */
export function summary(name: string, model: Module): string {
  const lines = [`${name}: ${model.parameterCount().toLocaleString('en-US')} parameters`];
  for (const [path, m] of model.namedModules()) {
    if (m === model) continue;
    const count = m.parameterCount();
    lines.push(`  ${path.padEnd(3)} ${m.describe()}${count ? ` — ${count.toLocaleString('en-US')}` : ''}`);
  }
  return lines.join('\n');
}
