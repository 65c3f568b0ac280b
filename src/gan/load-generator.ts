// A generator from a safetensors file's bytes, wherever they come from (a fetch, a dropped file, a Response):
// the browser-safe path. Node's version that reads a path is src/node/load-generator.ts; both end in
// loadGeneratorState, which checks every tensor against the architecture before anything is allocated.
import type { Engine } from '../runtime/engine.js';
import { decodeSafetensors } from '../data/safetensors-format.js';
import { loadGeneratorState, type LoadedGenerator } from './generator-state.js';
import { readModelSpec } from './model-spec.js';
import { readSamplingTemperature } from './sampling-temperature.js';
import { CheckpointError } from '../nn/state-dict.js';

/** Where a generator's safetensors bytes come from; a string is a URL (relative ones resolve against the page). */
export type GeneratorSource = Uint8Array | ArrayBuffer | Response | URL | string;

export interface LoadGeneratorOptions {
  /** Use the last step's weights even when the file has a moving average (--ema); default false. */
  trained?: boolean;
  /** Names the file in errors; default the URL, or 'generator' for bytes. */
  name?: string;
}

async function bytesOf(source: GeneratorSource, name: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const response = typeof source === 'string' || source instanceof URL ? await fetch(source) : source;
  if (!response.ok) throw new CheckpointError(`${name}: HTTP ${response.status} ${response.statusText}; check the URL`.trim());
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Fetches (for a URL), reads (for a Response) or takes the bytes of a safetensors generator file — a training
 * checkpoint or an exported generator — checks them and builds the generator on `engine`. The moving average of
 * the weights is used when the file has one, unless `trained`; the network is the one the file's model spec
 * describes (the reference DCGAN for a file without one). Returns { G, latentDim, width, weights, temperature }
 * (temperature: the file's own sampling temperature, which sample() uses unless told another; 1 for most files); call
 * G.dispose() when done. Throws SafetensorsError for bytes that are not safetensors, CheckpointError for a file
 * that is not a DCGAN generator or an HTTP error, and fetch's own TypeError when the network fails.
 */
export async function loadGenerator(engine: Engine, source: GeneratorSource, options: LoadGeneratorOptions = {}): Promise<LoadedGenerator> {
  const name = options.name ?? (typeof source === 'string' ? source : source instanceof URL ? source.href : 'url' in source && source.url ? source.url : 'generator');
  const bytes = await bytesOf(source, name);
  const { tensors, metadata } = decodeSafetensors(bytes, name);
  const temperature = readSamplingTemperature(metadata, name);
  return loadGeneratorState(engine, tensors, name, { trained: options.trained, temperature }, readModelSpec(metadata, name));
}
