// A generator file's own sampling temperature: the standard deviation of z it is meant to be sampled at, stored
// by `export-generator --temperature T` in the metadata key "temperature". A moving average of G's weights
// (--ema) is smoother than any one step's G and spreads its images less; a z a little wider than the N(0, 1)
// it was trained on can give that spread back (Kingma & Dhariwal 2018 call the scale of z the temperature).
// generate, evaluate, critic, sample() and the studio start from the file's value; their temperature option
// overrides it. Files without the key are sampled at 1, as trained.
import { CheckpointError } from '../nn/state-dict.js';

export const TEMPERATURE_METADATA_KEY = 'temperature';
/** The widest z any command accepts (--temperature's bound). */
export const MAX_TEMPERATURE = 10;

/** True for a temperature atelier samples at: a finite number in (0, MAX_TEMPERATURE]. */
export function isTemperature(t: number): boolean {
  return Number.isFinite(t) && t > 0 && t <= MAX_TEMPERATURE;
}

/**
 * The file's sampling temperature: its metadata "temperature" as a number in (0, 10], or 1 when the key is
 * absent. Throws CheckpointError naming `source` for any other value.
 */
export function readSamplingTemperature(metadata: Record<string, string>, source: string): number {
  if (!Object.hasOwn(metadata, TEMPERATURE_METADATA_KEY)) return 1;
  const raw = metadata[TEMPERATURE_METADATA_KEY];
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!isTemperature(value)) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw) : typeof raw;
    throw new CheckpointError(`${source}: metadata "${TEMPERATURE_METADATA_KEY}" is ${shown}, not a number in (0, ${MAX_TEMPERATURE}]; the file is damaged: export the generator again (npm run export-generator)`);
  }
  return value;
}
