// A generator from a safetensors file on disk (the Node side of src/gan/generator-state.ts).
import type { Engine } from '../runtime/engine.js';
import { readSafetensors, type SafetensorsContents } from '../io/safetensors.js';
import { loadGeneratorState, type LoadedGenerator } from '../gan/generator-state.js';
import { readModelSpec } from '../gan/model-spec.js';
import { readSamplingTemperature } from '../gan/sampling-temperature.js';

export type { LoadedGenerator } from '../gan/generator-state.js';

/**
 * Reads `path` (or takes its already-read `contents`, so a bad file can be refused before the GPU starts) and
 * builds the generator its model spec describes (the reference DCGAN for a file without one), with the file's
 * sampling temperature (1 without one); see loadGeneratorState for the checks and the choice of weights. Throws
 * SafetensorsError for an unreadable file and CheckpointError for one that is not a DCGAN generator or has a
 * bad temperature.
 */
export function loadGenerator(engine: Engine, path: string, contents: SafetensorsContents = readSafetensors(path), options: { trained?: boolean } = {}): LoadedGenerator {
  const temperature = readSamplingTemperature(contents.metadata, path);
  return loadGeneratorState(engine, contents.tensors, path, { ...options, temperature }, readModelSpec(contents.metadata, path));
}
