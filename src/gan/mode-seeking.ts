// Mode seeking (Mao et al. 2019, "Mode Seeking Generative Adversarial Networks for Diverse Image Synthesis", eq. 3):
// G makes pairs of images from two z's (of one class, for a conditional G) and pays λ / (d_I / d_z + ε), d_I the
// mean absolute difference of the two images and d_z of the two z's. Mapping two z's onto one image costs, so G's
// images spread out with z instead of collapsing onto the modes D likes best. The pairs come from G's own batch
// (no extra forward pass, no extra random draws, so a resumed run stays bitwise): image i pairs with image
// n − p + i, p = ⌊n / 2⌋, and for a conditional G those two are asked for the same class.
import type { Tensor } from '../tensor/tensor.js';
import { abs, sub, div, addScalar } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import { concat, narrow } from '../tensor/ops/misc.js';
import { fill } from '../tensor/ops/create.js';

/** MSGAN's ε in 1 / (d_I / d_z + ε), as in its authors' code. */
export const MODE_SEEKING_EPS = 1e-5;

/** Pairs in a batch of n: ⌊n / 2⌋; image i pairs with image n − pairs + i (the middle one is left out when n is odd). */
export function modeSeekingPairs(n: number): number {
  return Math.floor(n / 2);
}

function pairsOrThrow(n: number): number {
  const p = modeSeekingPairs(n);
  if (p < 1) throw new Error(`mode seeking: a batch of ${n} has no pairs; use a batch of at least 2`);
  return p;
}

/**
 * G's conditioning rows [n, classes] rearranged so that every pair asks for one class: the first n − p rows as
 * given, then the first p again (p = modeSeekingPairs(n)). The batch's class mix is kept for its first half.
 * Throws for a batch under 2.
 */
export function pairedRows(rows: Tensor): Tensor {
  const n = rows.shape[0];
  const p = pairsOrThrow(n);
  return concat([narrow(rows, 0, 0, n - p), narrow(rows, 0, 0, p)], 0);
}

/**
 * The mode-seeking term 1 / (d_I / d_z + ε) [1] for G's images [n, …] made from latents z [n, …], over the
 * pairs (i, n − p + i): d_I = mean |image_i − image_j| (pixel units), d_z = mean |z_i − z_j|. Differentiable in
 * the images (z is a constant). Throws for n < 2 or for images and z of different batch sizes.
 */
export function modeSeekingLoss(images: Tensor, z: Tensor, eps = MODE_SEEKING_EPS): Tensor {
  const n = images.shape[0];
  if (z.shape[0] !== n) throw new Error(`mode seeking: ${n} images but ${z.shape[0]} latents`);
  const p = pairsOrThrow(n);
  const gap = (x: Tensor) => mean(abs(sub(narrow(x, 0, 0, p), narrow(x, 0, n - p, p))));
  const ratio = reshape(div(gap(images), gap(z)), [1]);
  return div(fill(images.engine, [1], 1), addScalar(ratio, eps));
}
