// A generator from a safetensors file on disk (the Node side of src/gan/generator-state.ts).
import type { Engine } from '../runtime/engine.js';
import { readSafetensors, type SafetensorsContents } from '../io/safetensors.js';
import { loadGeneratorState, type LoadedGenerator } from '../gan/generator-state.js';
import { readModelSpec } from '../gan/model-spec.js';

export type { LoadedGenerator } from '../gan/generator-state.js';

/**
 * Reads `path` (or takes its already-read `contents`, so a bad file can be refused before the GPU starts) and
 * builds the generator its model spec describes (the reference DCGAN for a file without one); see loadGeneratorState for the checks and the choice of weights. Throws
 * SafetensorsError for an unreadable file and CheckpointError for one that is not a DCGAN generator.
 */
export function loadGenerator(engine: Engine, path: string, contents: SafetensorsContents = readSafetensors(path), options: { trained?: boolean } = {}): LoadedGenerator {
  return loadGeneratorState(engine, contents.tensors, path, options, readModelSpec(contents.metadata, path));
}
