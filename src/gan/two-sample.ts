// The classifier two-sample test (Lopez-Paz & Oquab 2017) with a trained critic as the classifier: its accuracy
// at telling n held-out real images from n fresh generated ones, 0.5 when it cannot tell them apart. Browser-safe.
import type { Engine } from '../runtime/engine.js';
import type { Sequential } from '../nn/layers.js';
import { criticLogitsOfImages, generatedCriticLogits, type LatentStream } from './critic.js';
import type { ImageSet } from './real-samples.js';

export interface TwoSampleResult {
  /** Fraction of the 2n images on the right side of logit 0 (real > 0, generated < 0). */
  accuracy: number;
  meanLogitReal: number;
  meanLogitGenerated: number;
  /** The critic's logits on the generated images (their quantiles set rejection ceilings). */
  generatedLogits: Float32Array;
}

/** Accuracy of a threshold at 0 on the logits of real (label 1) and generated (label 0) images. */
export function twoSampleAccuracy(realLogits: ArrayLike<number>, generatedLogits: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < realLogits.length; i++) if (realLogits[i] > 0) right++;
  for (let i = 0; i < generatedLogits.length; i++) if (generatedLogits[i] < 0) right++;
  return right / (realLogits.length + generatedLogits.length);
}

const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;

/**
 * Scores `real` (count×H×W in [−1, 1], images the critic never trained on) and as many of G's images, z from
 * the keys (z.seed, b) per batch of 250 at z.temperature, with the critic (eval mode, in chunks).
 */
export async function twoSampleTest(engine: Engine, critic: Sequential, G: Sequential, latentDim: number, real: ImageSet & { height: number; width: number }, z: LatentStream): Promise<TwoSampleResult> {
  const realLogits = await criticLogitsOfImages(engine, critic, real.images, real.count, real.height, real.width);
  const generatedLogits = await generatedCriticLogits(engine, critic, G, latentDim, 0, real.count, z);
  return { accuracy: twoSampleAccuracy(realLogits, generatedLogits), meanLogitReal: mean(realLogits), meanLogitGenerated: mean(generatedLogits), generatedLogits };
}
