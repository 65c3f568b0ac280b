// A generator from a file's tensors (training checkpoint, exported generator): its size is read off the first
// layer, capped as the training flags cap it, and every tensor is checked against that architecture on the host
// before the model is built, so a small hostile file cannot make atelier allocate gigabytes of GPU memory.
import type { Engine } from '../runtime/engine.js';
import { MAX_LATENT_DIM, MAX_WIDTH, DEFAULT_WIDTH } from './models.js';
import { dcganSpec } from './presets.js';
import { generatorShapes, buildGeneratorOf, withSignedOutput, type GanSpec, type Network } from './spec.js';
import { checkState, loadModuleState, quoteName, CheckpointError, type LoadedTensors } from './checkpoint.js';

/** Names of the weight-averaged generator's tensors (runs with --ema). */
export const EMA_PREFIX = 'generator_ema.';
export const GENERATOR_PREFIX = 'generator.';

export interface GeneratorState {
  /** The prefix of the tensors used: GENERATOR_PREFIX or EMA_PREFIX. */
  prefix: string;
  latentDim: number;
  /** ngf: the channels of the layer next to the image. */
  width: number;
  /** 'average' when the moving average of the weights (--ema) is used. */
  weights: 'average' | 'trained';
  /** The checked values by full tensor name. */
  values: Map<string, Float32Array>;
  /** The architecture: the file's, or the reference DCGAN's for files written before specs. */
  spec: GanSpec;
}

export interface LoadedGenerator {
  /** G with its images in [−1, 1] whatever the spec's range (a [0, 1] generator gets 2x − 1 appended). */
  G: Network;
  spec: GanSpec;
  latentDim: number;
  /** Channels of G's layer next to the image (ngf). */
  width: number;
  /** 'average' when the checkpoint's moving average of the weights (--ema) was loaded. */
  weights: 'average' | 'trained';
  /** The class count of a class-conditional generator (sample({ class }) takes 0…classes−1); absent otherwise. */
  classes?: number;
  /** The standard deviation of z the file asks to be sampled at (see sampling-temperature.ts); 1 for most files. */
  temperature: number;
}

/**
 * Checks a file's generator tensors without building anything: the moving average (EMA_PREFIX) when present
 * unless `trained`, else GENERATOR_PREFIX; every tensor's name, dtype, shape and finiteness against the file's
 * checked `spec` (see checkState). A file without a spec holds the reference DCGAN: latentDim and width from
 * "<prefix>0.weight" [latentDim, 2·width, 7, 7] within MAX_LATENT_DIM and MAX_WIDTH.
 * Throws CheckpointError naming `source` and the first problem.
 */
export function inspectGeneratorState(tensors: LoadedTensors, source: string, options: { trained?: boolean } = {}, spec?: GanSpec): GeneratorState {
  const prefix = !options.trained && Object.keys(tensors).some((n) => n.startsWith(EMA_PREFIX)) ? EMA_PREFIX : GENERATOR_PREFIX;
  if (spec) {
    const expected = generatorShapes(spec, source);
    const values = checkState(tensors, prefix, [...expected.parameters, ...expected.buffers], source);
    const first = spec.generator.find((l) => l.type === 'convTranspose2d' || l.type === 'conv2d');
    return { prefix, latentDim: spec.latentDim, width: spec.preset === 'dcgan' && first && 'out' in first ? first.out / 2 : DEFAULT_WIDTH, weights: prefix === EMA_PREFIX ? 'average' : 'trained', values, spec };
  }
  const firstName = `${prefix}0.weight`;
  const first = Object.hasOwn(tensors, firstName) ? tensors[firstName] : undefined;
  if (!first) throw new CheckpointError(`${source}: tensor "${GENERATOR_PREFIX}0.weight" is missing — is this an atelier DCGAN checkpoint?`);
  const shape = first.shape;
  if (shape.length !== 4 || shape[2] !== 7 || shape[3] !== 7 || !(shape[0] >= 1) || !(shape[1] >= 2 && shape[1] % 2 === 0)) {
    const got = shape.length > 8 ? `${shape.slice(0, 8).join(', ')}, …` : shape.join(', ');
    throw new CheckpointError(`${source}: tensor ${quoteName(firstName)} has shape [${got}], expected [latentDim, 2·ngf, 7, 7]`);
  }
  const [latentDim, doubled] = shape;
  const width = doubled / 2;
  if (latentDim > MAX_LATENT_DIM) {
    throw new CheckpointError(`${source}: tensor ${quoteName(firstName)} [${shape.join(', ')}] gives a latent size of ${latentDim}, more than the ${MAX_LATENT_DIM} that --latent-dim allows; the file is corrupt`);
  }
  if (width > MAX_WIDTH) {
    throw new CheckpointError(`${source}: tensor ${quoteName(firstName)} [${shape.join(', ')}] gives ngf ${width}, more than the ${MAX_WIDTH} that --ngf allows; the file is corrupt`);
  }
  const legacy = dcganSpec({ latentDim, ngf: width, ndf: DEFAULT_WIDTH, spectralNorm: false });
  const expected = generatorShapes(legacy, source);
  const values = checkState(tensors, prefix, [...expected.parameters, ...expected.buffers], source);
  return { prefix, latentDim, width, weights: prefix === EMA_PREFIX ? 'average' : 'trained', values, spec: legacy };
}

/**
 * Builds a generator with a file's weights, after inspectGeneratorState has checked them all against `spec` (or
 * the reference DCGAN). `options.temperature` is the file's checked sampling temperature (readSamplingTemperature;
 * default 1).
 */
export function loadGeneratorState(engine: Engine, tensors: LoadedTensors, source: string, options: { trained?: boolean; temperature?: number } = {}, fileSpec?: GanSpec): LoadedGenerator {
  const { prefix, latentDim, width, weights, spec } = inspectGeneratorState(tensors, source, options, fileSpec);
  const G = buildGeneratorOf(engine, spec);
  try {
    loadModuleState(engine, prefix, G, tensors, source);
  } catch (e) {
    G.dispose();
    throw e;
  }
  return { G: withSignedOutput(G, spec), spec, latentDim, width, weights, ...(spec.conditional ? { classes: spec.conditional.classes } : {}), temperature: options.temperature ?? 1 };
}
