// Images from a generator, the one way both the CLI and a page make them: z ~ N(0, temperature²) drawn whole
// from the key (seed, 0), then G run in chunks (see sampling.ts), so a seed gives the same images everywhere.
import type { Engine } from '../runtime/engine.js';
import type { Sequential } from '../nn/layers.js';
import { generatePixels, sampleLatents, type GeneratedPixels } from './sampling.js';
import type { LoadedGenerator } from './generator-state.js';
import type { Images } from './images.js';
import { ConditionalGenerator, conditionalInput, balancedLabels } from './network.js';

export interface SampleOptions {
  /** Images to make; default 64. A whole number ≥ 1. */
  n?: number;
  /** Seed of z; default 0. A whole number in [0, 2³²). */
  seed?: number;
  /**
   * Standard deviation of z; default the loaded file's own (LoadedGenerator.temperature, 1 for most files), or 1
   * for a bare G. Below 1: more typical, less varied images.
   */
  temperature?: number;
  /**
   * The class to draw, 0…classes−1, for a class-conditional generator (LoadedGenerator.classes) only; giving one
   * to another generator throws. Without it a conditional generator draws the classes in turn (image i: class
   * i mod classes).
   */
  class?: number;
  /** One class per image (n of them), instead of `class`: for mixing classes in one call. */
  labels?: ArrayLike<number>;
  /** Images per GPU chunk; default inferenceChunk for G's width. */
  chunk?: number;
}

/** The latent size: the loaded file's, or for a bare DCGAN generator the rows of its first weight [latentDim, 2·ngf, 7, 7]. */
function latentDimOf(generator: LoadedGenerator | Sequential): number {
  if ('G' in generator) return generator.latentDim;
  if (generator instanceof ConditionalGenerator) return generator.latentDim;
  const first = generator.parameters()[0];
  if (first?.shape.length !== 4) {
    throw new Error('sample: G is not a DCGAN generator (its first weight is not [latentDim, 2·ngf, 7, 7]); pass what loadGenerator returns');
  }
  return first.shape[0];
}

function checkSampleOptions({ n = 64, seed = 0, temperature, class: label, labels }: SampleOptions & { temperature: number }, classes: number | undefined): { n: number; seed: number; temperature: number; labels?: ArrayLike<number> } {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`sample: n must be a whole number ≥ 1, got ${n}`);
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new Error(`sample: seed must be a whole number in [0, 2^32), got ${seed}`);
  if (!(temperature > 0 && temperature < Infinity)) throw new Error(`sample: temperature must be a finite number > 0, got ${temperature}`);
  if (classes === undefined) {
    if (label !== undefined || labels !== undefined) {
      throw new Error(`sample: class ${label ?? Array.from(labels!).join(', ')} was asked for, but this generator is not class-conditional; leave out \`class\``);
    }
    return { n, seed, temperature };
  }
  const check = (c: number) => {
    if (!(Number.isInteger(c) && c >= 0 && c < classes)) throw new Error(`sample: class ${c} is not a class index 0…${classes - 1}`);
  };
  if (labels !== undefined) {
    if (label !== undefined) throw new Error('sample: give `class` or `labels`, not both');
    if (labels.length !== n) throw new Error(`sample: ${labels.length} labels for n = ${n} images`);
    Array.from(labels).forEach(check);
    return { n, seed, temperature, labels };
  }
  if (label !== undefined) check(label);
  return { n, seed, temperature, labels: label !== undefined ? new Int32Array(n).fill(label) : balancedLabels(0, n, classes) };
}

/** The class count of a conditional generator (LoadedGenerator.classes, or a bare ConditionalGenerator's). */
function classesOf(generator: LoadedGenerator | Sequential): number | undefined {
  if ('G' in generator) return generator.classes;
  return generator instanceof ConditionalGenerator ? generator.classes : undefined;
}

/**
 * G's raw output for `options` (see SampleOptions): n×H×W floats in G's range [−1, 1] (tanh), on the host.
 * The CLI's generate writes these; sample() maps them to [0, 1].
 */
export async function samplePixels(engine: Engine, generator: LoadedGenerator | Sequential, options: SampleOptions = {}): Promise<GeneratedPixels> {
  const G = 'G' in generator ? generator.G : generator;
  const classes = classesOf(generator);
  const { n, seed, temperature, labels } = checkSampleOptions({ ...options, temperature: options.temperature ?? ('G' in generator ? generator.temperature ?? 1 : 1) }, classes);
  const drawn = sampleLatents(engine, n, latentDimOf(generator), { seed, counter: 0 }, temperature);
  // A conditional G's input carries each image's class: [z ; onehot(y)], so every chunk has its own labels.
  const z = labels ? conditionalInput(engine, drawn, labels, classes!) : drawn;
  if (z !== drawn) drawn.dispose();
  try {
    return await generatePixels(engine, G, z, options.chunk);
  } finally {
    z.dispose();
  }
}

/**
 * `n` images from a generator (what loadGenerator returns, or its G), as host floats in [0, 1] laid out
 * [n, 1, H, W] — ready for toImageData / drawToCanvas. The same seed and temperature give the same images as
 * `atelier generate --seed S --temperature T`. Throws for a bad n, seed or temperature, or a class asked of a
 * generator that has none.
 */
export async function sample(engine: Engine, generator: LoadedGenerator | Sequential, options: SampleOptions = {}): Promise<Images> {
  const { pixels, count, height, width } = await samplePixels(engine, generator, options);
  const data = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) data[i] = (pixels[i] + 1) / 2;
  return { data, count, channels: 1, height, width };
}
