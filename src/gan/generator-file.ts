// A generator built from a file's tensors (a training checkpoint or an exported generator), browser-safe: the
// caller reads the bytes (src/node/load-generator.ts does it from a path in Node).
import type { Engine } from '../runtime/engine.js';
import type { Sequential } from '../nn/layers.js';
import { buildGenerator } from './models.js';
import { loadModuleState, CheckpointError, type LoadedTensors } from './checkpoint.js';

/** Name prefix of the moving average of G's weights (--ema) in a training checkpoint. */
export const EMA_PREFIX = 'generator_ema.';

export interface LoadedGenerator {
  G: Sequential;
  latentDim: number;
  /** Channels of G's layer next to the image (ngf). */
  width: number;
  /** 'average' when the checkpoint's moving average of the weights (--ema) was loaded. */
  weights: 'average' | 'trained';
}

/**
 * Builds a generator from a checkpoint's tensors, checking every name, shape and dtype: `generator.0.weight` is
 * [latentDim, 2·ngf, 7, 7]. Takes the moving average of the weights (`generator_ema.*`) when the checkpoint has
 * one, unless `trained` asks for the last step's weights (`generator.*`). `source` names the file in errors.
 * Throws CheckpointError when a tensor is missing or has the wrong shape or dtype.
 */
export function generatorFromTensors(engine: Engine, tensors: LoadedTensors, source: string, options: { trained?: boolean } = {}): LoadedGenerator {
  const prefix = !options.trained && tensors[`${EMA_PREFIX}0.weight`] ? EMA_PREFIX : 'generator.';
  const first = tensors[`${prefix}0.weight`];
  if (!first) throw new CheckpointError(`${source}: tensor "generator.0.weight" is missing — is this an atelier DCGAN checkpoint?`);
  if (first.shape.length !== 4 || !(first.shape[0] >= 1) || !(first.shape[1] >= 2 && first.shape[1] % 2 === 0)) {
    throw new CheckpointError(`${source}: tensor "generator.0.weight" has shape [${first.shape.join(', ')}], expected [latentDim, 2·ngf, 7, 7]`);
  }
  const latentDim = first.shape[0];
  const width = first.shape[1] / 2;
  const G = buildGenerator(engine, latentDim, width);
  try {
    loadModuleState(engine, prefix, G, tensors, source);
  } catch (e) {
    G.dispose();
    throw e;
  }
  return { G, latentDim, width, weights: prefix === EMA_PREFIX ? 'average' : 'trained' };
}
