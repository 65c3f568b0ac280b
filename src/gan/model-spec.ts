// The model spec in a file's metadata ("model"), read through the safetensors reader's capped JSON parse and
// checked (src/gan/spec.ts validateSpec) before anything is built.
import { parseMetadataJson } from '../data/safetensors-format.js';
import { validateSpec, type GanSpec } from './spec.js';

export const SPEC_METADATA_KEY = 'model';

/** The file's spec, checked; undefined for files written before specs (they hold the reference DCGAN). */
export function readModelSpec(metadata: Record<string, string>, source: string): GanSpec | undefined {
  if (!Object.hasOwn(metadata, SPEC_METADATA_KEY)) return undefined;
  return validateSpec(parseMetadataJson(metadata[SPEC_METADATA_KEY], source, SPEC_METADATA_KEY), source);
}
