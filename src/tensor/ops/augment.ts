// Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
// the same random translation and cutout applied to real and generated images before D, with gradients flowing
// back to the images (so to G).
import { record } from '../graph.js';
import { Tensor, shapeString } from '../tensor.js';
import { rand, type RandomKey } from './create.js';
import { diffAugmentKernel, type AugmentSizes } from '../../kernels/augment.js';

/** DiffAugment's policy names this build implements ('color' is not one of them). */
export const AUGMENT_POLICIES = ['translation', 'cutout'] as const;
export type AugmentPolicy = (typeof AUGMENT_POLICIES)[number];

/**
 * The pixel sizes DiffAugment uses for an H × W image: shifts of up to int(size/8 + 0.5) each way
 * (rand_translation, ratio 0.125; 4 for 28) and a cutout square of int(size/2 + 0.5) (rand_cutout, ratio 0.5; 14 for 28).
 */
export function augmentSizes(policy: readonly AugmentPolicy[], h: number, w: number): AugmentSizes {
  const translation = policy.includes('translation');
  const cutout = policy.includes('cutout');
  return {
    shiftH: translation ? Math.floor(h * 0.125 + 0.5) : 0,
    shiftW: translation ? Math.floor(w * 0.125 + 0.5) : 0,
    cutH: cutout ? Math.floor(h * 0.5 + 0.5) : 0,
    cutW: cutout ? Math.floor(w * 0.5 + 0.5) : 0,
  };
}

export interface AugmentOptions {
  /** The per-image draws [N, 4], uniform in (0, 1): translation rows, columns, cutout centre row, column. */
  draws?: Tensor;
  /** Without draws: the key they are drawn with (rand); without either the engine's stream advances once. */
  key?: RandomKey;
}

/**
 * x [N, C, H, W] with each image translated by its own random whole-pixel offset (zero fill) and then a random
 * square zeroed (DiffAugment's rand_translation then rand_cutout; the order is fixed whatever order `policy`
 * names them in). All channels of an image move together. The draws are made on the device (no readback), so
 * a run with the same stream position gives the same images. Backward: the transpose (the gradient moves back
 * by the same offset, and is zero in the square). An empty policy returns x itself and draws nothing.
 * Throws for a rank other than 4 or draws of the wrong shape.
 */
export function diffAugment(x: Tensor, policy: readonly AugmentPolicy[], options: AugmentOptions = {}): Tensor {
  if (x.rank !== 4) throw new Error(`diffAugment: input must be NCHW (rank 4), got ${shapeString(x.shape)}`);
  if (policy.length === 0) return x;
  const [n, , h, w] = x.shape;
  const drawn = options.draws ? null : rand(x.engine, [n, 4], 0, 1, options.key ? { key: options.key } : {});
  const draws = options.draws ?? drawn!;
  if (draws.shape.length !== 2 || draws.shape[0] !== n || draws.shape[1] !== 4) {
    throw new Error(`diffAugment: draws must be [${n}, 4] for input ${shapeString(x.shape)}, got ${shapeString(draws.shape)}`);
  }
  const sizes = augmentSizes(policy, h, w);
  const y = Tensor.adopt(diffAugmentKernel(x, draws, sizes, false));
  const out = record(y, 'diffAugment', [x], (g, s) => [Tensor.adopt(diffAugmentKernel(g, s.draws, sizes, true))], { draws });
  drawn?.dispose();
  return out;
}
