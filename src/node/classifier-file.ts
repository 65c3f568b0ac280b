// Reading the feature classifier's safetensors file, with the messages evaluate and train --eval-every share.
import { readSafetensors } from '../io/safetensors.js';
import { CheckpointError } from '../gan/checkpoint.js';
import { CLASSIFIER_FORMAT } from '../gan/classifier.js';

export const DEFAULT_CLASSIFIER = 'models/classifier.safetensors';

export function readClassifierFile(path: string): ReturnType<typeof readSafetensors> {
  let file;
  try {
    file = readSafetensors(path);
  } catch (e) {
    const hint = path === DEFAULT_CLASSIFIER ? '; make it with npm run train-classifier, or pass --classifier FILE' : '';
    throw Object.assign(e as Error, { message: `classifier ${(e as Error).message}${hint}` });
  }
  if (file.metadata.format !== CLASSIFIER_FORMAT) {
    throw new CheckpointError(`${path}: not a feature classifier (its format is ${JSON.stringify(file.metadata.format ?? 'unnamed')}, ` +
      `expected "${CLASSIFIER_FORMAT}"); make one with npm run train-classifier`);
  }
  return file;
}
