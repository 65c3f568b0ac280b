// The minibatch standard-deviation feature of a discriminator (Karras et al. 2018, ProGAN §3; grouped as in
// StyleGAN), composed from differentiable ops.
import { Tensor, shapeString } from '../tensor.js';
import { sub, square, sqrt, addScalar } from './elementwise.js';
import { mean, expand } from './reduce.js';
import { reshape } from './shape.js';
import { concat } from './misc.js';

/**
 * x [N, C, H, W] with one feature map appended → [N, C + 1, H, W]. The batch is split into groups of
 * G = min(groupSize, N) images, image n in group n mod (N / G) (StyleGAN's reshape(G, −1, …)); for each group
 * the standard deviation of every feature (c, h, w) over its G images (biased, √(variance + eps)) is averaged
 * over the features, and that one number fills the new map of each of the group's images. groupSize ≥ N is
 * ProGAN's original: one statistic over the whole batch. Throws when N is not a multiple of G, or for a rank
 * other than 4.
 */
export function minibatchStd(x: Tensor, groupSize: number, eps = 1e-8): Tensor {
  if (x.rank !== 4) throw new Error(`minibatchStd: input must be NCHW (rank 4), got ${shapeString(x.shape)}`);
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`minibatchStd: group size must be a whole number ≥ 1, got ${groupSize}`);
  const [n, c, h, w] = x.shape;
  const g = Math.min(groupSize, n);
  if (n % g !== 0) throw new Error(`minibatchStd: a batch of ${n} does not split into groups of ${g}; use a batch size that is a multiple of ${g}`);
  const m = n / g;
  const grouped = reshape(x, [g, m, c * h * w]);
  const centred = sub(grouped, mean(grouped, 0, true));
  const std = sqrt(addScalar(mean(square(centred), 0), eps)); // [m, F]
  const perGroup = mean(std, 1, true); // [m, 1]
  const map = reshape(expand(reshape(perGroup, [1, m, 1, 1]), [g, m, h, w]), [n, 1, h, w]);
  return concat([x, map], 1);
}
