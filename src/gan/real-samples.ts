// Seeded choices of real images, shared by evaluate, critic and metric-sensitivity so that they compare against
// the same real sets at the same seed.
import { Prng, permutation } from '../data/batches.js';

/** Images laid out count×H×W in [−1, 1]. */
export interface ImageSet {
  images: Float32Array;
  count: number;
}

/**
 * `n` of `data`'s images (count×height×width) chosen by a seeded shuffle (Prng(seed)'s permutation, first n).
 * Throws when n exceeds data.count.
 */
export function sampleImages(data: ImageSet & { height: number; width: number }, n: number, seed: number): ImageSet {
  if (!(Number.isInteger(n) && n >= 0 && n <= data.count)) throw new Error(`sampleImages: cannot choose ${n} of ${data.count} images`);
  const pixels = data.height * data.width;
  const order = permutation(data.count, new Prng(seed)).subarray(0, n);
  const images = new Float32Array(n * pixels);
  order.forEach((src, dst) => images.set(data.images.subarray(src * pixels, (src + 1) * pixels), dst * pixels));
  return { images, count: n };
}

/** The training images' shuffle seed, distinct from the test images' one. */
export const trainSampleSeed = (seed: number) => (seed ^ 0x5eed) >>> 0;
