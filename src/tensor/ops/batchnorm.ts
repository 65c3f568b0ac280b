// BatchNorm2d over NCHW with learnable per-channel gamma/beta and running statistics kept on the GPU.
import { record } from '../graph.js';
import { Tensor, shapeString } from '../tensor.js';
import type { DeviceArray } from '../../runtime/storage.js';
import {
  batchNormApplyKernel, batchNormBackwardKernel, batchNormRowsBackwardKernel, batchNormRunningKernel, batchNormStatsKernel,
} from '../../kernels/batchnorm.js';

export interface BatchNormOptions {
  /** Normalise with batch statistics and update the running ones (true), or use the running ones (false). */
  training: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch's default 0.1). */
  momentum?: number;
  eps?: number;
}

/**
 * y = (x − mean)/√(var + eps)·gamma + beta per channel: x [N, C, H, W]; gamma and beta [C], or [N, C] for a
 * per-image affine (each image its own rows, as conditional batchnorm's; de Vries et al. 2017). In training,
 * mean and (biased) var come from the batch and runningMean/runningVar [C] are updated in place:
 * running = (1 − momentum)·running + momentum·stat, with the unbiased variance. In eval, the running statistics
 * are used. runningMean/runningVar get no gradient. Throws for an input not of rank 4, parameters of other
 * shapes, or a training batch with one value per channel. Follows PyTorch's BatchNorm2d.
 */
export function batchNorm2d(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  const { training, momentum = 0.1, eps = 1e-5 } = options;
  if (x.rank !== 4) throw new Error(`batchNorm2d: input must be NCHW (rank 4), got ${shapeString(x.shape)}`);
  const [n, c] = x.shape;
  const rows = gamma.rank === 2;
  const affine = rows ? `[${n}, ${c}]` : `[${c}]`;
  const fits = (p: Tensor, shape: string) => shapeString(p.shape) === shape;
  const params: [string, Tensor, string][] = [['gamma', gamma, affine], ['beta', beta, affine], ['runningMean', runningMean, `[${c}]`], ['runningVar', runningVar, `[${c}]`]];
  for (const [name, p, shape] of params) {
    if (!fits(p, shape)) {
      throw new Error(`batchNorm2d: ${name} has shape ${shapeString(p.shape)}, expected ${shape} for input ${shapeString(x.shape)}`);
    }
  }
  if (training && x.shape[0] * x.shape[2] * x.shape[3] < 2) {
    throw new Error(`batchNorm2d: training needs more than one value per channel, got input ${shapeString(x.shape)}`);
  }
  const channelGamma = rows ? null : gamma;
  // [mean | invstd | gamma·invstd] of this forward pass (its own array: later passes do not overwrite it)
  const stats = training
    ? batchNormStatsKernel(x, channelGamma, runningMean, runningVar, momentum, eps)
    : batchNormRunningKernel(channelGamma, runningMean, runningVar, eps);
  const y = Tensor.adopt(batchNormApplyKernel(x, stats, beta, rows ? gamma : null));
  record(y, 'batchNorm2d', [x, gamma, beta], (g, s) => {
    const { dx, dgamma, dbeta } = s.gamma
      ? batchNormRowsBackwardKernel(s.x, g, s.stats, s.gamma, training, x.requiresGrad)
      : batchNormBackwardKernel(s.x, g, s.stats, training, x.requiresGrad);
    const ifNeeded = (t: DeviceArray, needed: boolean) => (needed ? Tensor.adopt(t) : (t.dispose(), null));
    return [Tensor.adopt(dx), ifNeeded(dgamma, gamma.requiresGrad), ifNeeded(dbeta, beta.requiresGrad)];
  }, { x, stats, gamma: rows ? gamma : null });
  stats.dispose();
  return y;
}
