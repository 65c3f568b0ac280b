// The reference DCGAN for 28×28 grayscale images, layer for layer as the issue specifies. Layers followed by
// batchnorm have no bias (it would be cancelled by the normalisation), as in PyTorch's DCGAN example.
// `width` is that example's ngf / ndf: the channel count of the layer next to the image (64 in the reference).
import type { Engine } from '../runtime/engine.js';
import { Module } from '../nn/module.js';
import { type Sequential, ConvTranspose2d, Conv2d, BatchNorm2d, Linear } from '../nn/layers.js';
import { ConditionalBatchNorm2d } from '../nn/conditional-batchnorm.js';
import { randn, fill, copyInto } from '../tensor/ops/create.js';
import { glorotUniform } from '../nn/init.js';
import { dcganSpec, DEFAULT_WIDTH } from './presets.js';
import { generatorShapes, discriminatorShapes, buildGeneratorOf, buildDiscriminatorOf, type GanSpec, type StateShapes } from './spec.js';
import { tidy } from '../tensor/autograd.js';

export { DEFAULT_WIDTH } from './presets.js';
/** The largest z and layer width a model may have: the caps of --latent-dim and --ngf/--ndf, also applied to files. */
export const MAX_LATENT_DIM = 4096;
export const MAX_WIDTH = 1024;

export type { StateShapes } from './spec.js';

const dcgan = (latentDim: number, ngf: number, ndf: number, spectralNorm: boolean) => dcganSpec({ latentDim, ngf, ndf, spectralNorm });

/** The names and shapes of buildGenerator(engine, latentDim, width)'s state dict (from its spec). */
export function generatorStateShapes(latentDim: number, width = DEFAULT_WIDTH): StateShapes {
  const { parameters, buffers } = generatorShapes(dcgan(latentDim, width, DEFAULT_WIDTH, false));
  return { parameters, buffers };
}

/** The names and shapes of buildDiscriminator(engine, width, { spectralNorm })'s state dict. */
export function discriminatorStateShapes(width = DEFAULT_WIDTH, { spectralNorm = false } = {}): StateShapes {
  const { parameters, buffers } = discriminatorShapes(dcgan(1, DEFAULT_WIDTH, width, spectralNorm));
  return { parameters, buffers };
}

/** The reference DCGAN's generator (presets.ts dcganSpec). */
export function buildGenerator(engine: Engine, latentDim = 100, width = DEFAULT_WIDTH): Sequential {
  return buildGeneratorOf(engine, dcgan(latentDim, width, DEFAULT_WIDTH, false));
}

export function buildDiscriminator(engine: Engine, width = DEFAULT_WIDTH, { spectralNorm = false } = {}): Sequential {
  return buildDiscriminatorOf(engine, dcgan(1, DEFAULT_WIDTH, width, spectralNorm));
}

/** Initialises a spec's network: 'dcgan' (dcganInit), 'glorot' (glorotInit) or 'default' (as constructed). */
export function initialise(engine: Engine, model: Module, init: GanSpec['init']): void {
  if (init === 'dcgan') dcganInit(engine, model);
  else if (init === 'glorot') glorotInit(engine, model);
}

/** Keras's defaults: conv and dense weights Glorot-uniform, biases 0 (batchnorm keeps γ 1, β 0). */
export function glorotInit(engine: Engine, model: Module): void {
  tidy(engine, () => {
    for (const [, m] of model.namedModules()) {
      let fans: [number, number] | undefined;
      if (m instanceof Conv2d) fans = [m.inChannels * m.kernelSize ** 2, m.outChannels * m.kernelSize ** 2];
      else if (m instanceof ConvTranspose2d) fans = [m.outChannels * m.kernelSize ** 2, m.inChannels * m.kernelSize ** 2];
      else if (m instanceof Linear) fans = [m.inFeatures, m.outFeatures];
      if (!fans) continue;
      const layer = m as Conv2d | ConvTranspose2d | Linear;
      copyInto(layer.weight, glorotUniform(engine, [...layer.weight.shape], ...fans));
      if (layer.bias) copyInto(layer.bias, fill(engine, layer.bias.shape, 0));
    }
  });
}

/**
 * DCGAN initialisation (Radford et al.): conv weights N(0, 0.02), batchnorm γ N(1, 0.02) and β 0; conditional
 * batchnorm's γ rows N(1, 0.02) and β rows N(0, 1) (see ConditionalBatchNorm2d.bias).
 */
export function dcganInit(engine: Engine, model: Module): void {
  tidy(engine, () => {
    for (const [, m] of model.namedModules()) {
      if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
        copyInto(m.weight, randn(engine, m.weight.shape, 0, 0.02));
        if (m.bias) copyInto(m.bias, fill(engine, m.bias.shape, 0));
      } else if (m instanceof BatchNorm2d) {
        copyInto(m.weight, randn(engine, m.weight.shape, 1, 0.02));
        copyInto(m.bias, fill(engine, m.bias.shape, 0));
      } else if (m instanceof ConditionalBatchNorm2d) {
        copyInto(m.weight, randn(engine, m.weight.shape, 1, 0.02));
        copyInto(m.bias, randn(engine, m.bias.shape, 0, 1));
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
