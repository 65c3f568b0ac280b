// The measure of `npm run compare` that evaluateGenerator does not make, browser-safe: the nearest-real
// comparison of the ankle-boot project (a few generated images, each beside its closest training image).
// (Conditional accuracy is evaluateGenerator's: report.conditional.)
import type { Engine } from '../runtime/engine.js';
import type { LoadedGenerator } from './generator-state.js';
import type { NeighbourSearch } from './quality.js';
import type { NearestReal } from './comparison.js';
import { samplePixels } from './sample.js';
import { nearestTraining, toUnitRange } from './evaluate.js';

export interface NearestRealResult {
  nearest: NearestReal;
  /** The generated images and, in the same order, their closest training images: count×H×W each, in [−1, 1]. */
  generated: Float32Array;
  closest: Float32Array;
  /** Each pair's distance (pixels in [0, 1]). */
  distances: Float64Array;
}

/**
 * `count` images from `generator` (z from `seed`, as samplePixels draws it; a class-conditional one is asked for
 * the classes in turn), each with its nearest image among `train` (trainCount×H×W in [−1, 1]) by Euclidean
 * distance over all pixels with pixels mapped to [0, 1]. The search's wall time (from the [0, 1] conversion to
 * the ranked result) is reported in seconds.
 */
export async function nearestReal(engine: Engine, generator: LoadedGenerator, train: Float32Array, trainCount: number, search: NeighbourSearch, { count = 20, seed = 0 } = {}): Promise<NearestRealResult> {
  const generated = await samplePixels(engine, generator, { n: count, seed });
  const pixels = generated.height * generated.width;
  if (train.length !== trainCount * pixels) throw new Error(`nearestReal: ${train.length} values are not ${trainCount} training images of ${generated.height}×${generated.width}`);
  const started = performance.now();
  const { index, distance } = await nearestTraining(toUnitRange(generated.pixels), toUnitRange(train), pixels, search);
  const seconds = (performance.now() - started) / 1000;
  const closest = new Float32Array(count * pixels);
  for (let i = 0; i < count; i++) closest.set(train.subarray(index[i] * pixels, (index[i] + 1) * pixels), i * pixels);
  const mean = distance.reduce((a, b) => a + b, 0) / count;
  return {
    nearest: { count, meanL2: mean, meanL2Signed: 2 * mean, searched: trainCount, seconds },
    generated: generated.pixels, closest, distances: distance,
  };
}
