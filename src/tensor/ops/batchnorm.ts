// BatchNorm2d over NCHW with learnable per-channel gamma/beta and running statistics kept on the GPU.
import { record } from '../graph.js';
import { Tensor, shapeString } from '../tensor.js';
import type { DeviceArray } from '../../runtime/storage.js';
import {
  batchNormApplyKernel, batchNormBackwardKernel, batchNormRunningKernel, batchNormStatsKernel,
} from '../../kernels/batchnorm.js';

export interface BatchNormOptions {
  /** Normalise with batch statistics and update the running ones (true), or use the running ones (false). */
  training: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch's default 0.1). */
  momentum?: number;
  eps?: number;
}

/**
 * y = (x − mean)/√(var + eps)·gamma + beta per channel. In training, mean and (biased) var come from the batch
 * and runningMean/runningVar are updated in place: running = (1 − momentum)·running + momentum·stat, with the
 * unbiased variance. In eval, the running statistics are used. runningMean/runningVar get no gradient.
 */
export function batchNorm2d(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  const { training, momentum = 0.1, eps = 1e-5 } = options;
  if (x.rank !== 4) throw new Error(`batchNorm2d: input must be NCHW (rank 4), got ${shapeString(x.shape)}`);
  const c = x.shape[1];
  const params: [string, Tensor][] = [['gamma', gamma], ['beta', beta], ['runningMean', runningMean], ['runningVar', runningVar]];
  for (const [name, p] of params) {
    if (p.rank !== 1 || p.size !== c) {
      throw new Error(`batchNorm2d: ${name} has shape ${shapeString(p.shape)}, expected [${c}] for input ${shapeString(x.shape)}`);
    }
  }
  if (training && x.shape[0] * x.shape[2] * x.shape[3] < 2) {
    throw new Error(`batchNorm2d: training needs more than one value per channel, got input ${shapeString(x.shape)}`);
  }
  // [mean | invstd | gamma·invstd] of this forward pass (its own array: later passes do not overwrite it)
  const stats = training
    ? batchNormStatsKernel(x, gamma, runningMean, runningVar, momentum, eps)
    : batchNormRunningKernel(gamma, runningMean, runningVar, eps);
  const y = Tensor.adopt(batchNormApplyKernel(x, stats, beta));
  record(y, 'batchNorm2d', [x, gamma, beta], (g, s) => {
    const { dx, dgamma, dbeta } = batchNormBackwardKernel(s.x, g, s.stats, training, x.requiresGrad);
    const ifNeeded = (t: DeviceArray, needed: boolean) => (needed ? Tensor.adopt(t) : (t.dispose(), null));
    return [Tensor.adopt(dx), ifNeeded(dgamma, gamma.requiresGrad), ifNeeded(dbeta, beta.requiresGrad)];
  }, { x, stats });
  stats.dispose();
  return y;
}
