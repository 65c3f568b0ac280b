// Class-conditional batchnorm (de Vries et al. 2017; the generator of Miyato & Koyama 2018's projection cGAN):
// the batch is normalised as BatchNorm2d does, and each image is scaled and shifted by its class's γ and β rows,
// taken as a one-hot matrix product, as Embedding does. One batchnorm with a per-image affine does both.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { constant, normal } from './init.js';
import { batchNorm2d, type BatchNormOptions } from '../tensor/ops/batchnorm.js';
import { matmul } from '../tensor/ops/matmul.js';

export class ConditionalBatchNorm2d extends Module {
  /** γ per class and channel [classes, channels], initially 1 (dcganInit draws N(1, 0.02), as for BatchNorm2d's γ). */
  readonly weight: Tensor;
  /**
   * β per class and channel [classes, channels], initially N(0, 1) as nn.Embedding's rows: the classes differ from
   * the first step. (Rows that start equal, β 0 as batchnorm's, leave G blind to the class for thousands of steps:
   * the conditional DCGAN's conditional accuracy was 10.5 %, chance, after its first epoch.)
   */
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(engine: Engine, readonly channels: number, readonly classes: number, readonly options: { momentum?: number; eps?: number } = {}) {
    super();
    this.weight = this.parameter('weight', constant(engine, [classes, channels], 1));
    this.bias = this.parameter('bias', normal(engine, [classes, channels], 0, 1));
    this.runningMean = this.buffer('running_mean', constant(engine, [channels], 0));
    this.runningVar = this.buffer('running_var', constant(engine, [channels], 1));
  }

  forward(_x: Tensor): Tensor {
    throw new Error('ConditionalBatchNorm2d: needs the class of each image; call forwardWithClasses(x, oneHot(labels))');
  }

  /** x [B, channels, H, W] and one-hot rows [B, classes] → [B, channels, H, W] (see conditionalBatchNorm2d). */
  forwardWithClasses(x: Tensor, oneHotRows: Tensor): Tensor {
    return conditionalBatchNorm2d(x, oneHotRows, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training,
      momentum: this.options.momentum ?? 0.1,
      eps: this.options.eps ?? 1e-5,
    });
  }

  override describe(): string {
    return `ConditionalBatchNorm2d(${this.channels}, classes ${this.classes})`;
  }
}

/**
 * y = x̂·γ[class] + β[class]: x [B, C, H, W] normalised per channel (the batch's statistics in training, which
 * also update runningMean/runningVar [C], or those in eval), then each image scaled and shifted by the rows of
 * gamma and beta [classes, C] that its one-hot row [B, classes] picks: batchNorm2d with the per-image affine
 * oneHotRows·gamma and oneHotRows·beta [B, C]. Throws for rows or parameters of other shapes.
 */
export function conditionalBatchNorm2d(x: Tensor, oneHotRows: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
  options: BatchNormOptions): Tensor {
  const [b, c] = x.shape;
  const classes = gamma.shape[0];
  if (oneHotRows.rank !== 2 || oneHotRows.shape[0] !== b || oneHotRows.shape[1] !== classes) {
    throw new Error(`conditionalBatchNorm2d: expects one-hot rows [${b}, ${classes}] for input [${x.shape.join(', ')}], got [${oneHotRows.shape.join(', ')}]`);
  }
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.rank !== 2 || t.shape[0] !== classes || t.shape[1] !== c) {
      throw new Error(`conditionalBatchNorm2d: ${name} has shape [${t.shape.join(', ')}], expected [${classes}, ${c}] for input [${x.shape.join(', ')}]`);
    }
  }
  return batchNorm2d(x, matmul(oneHotRows, gamma), matmul(oneHotRows, beta), runningMean, runningVar, options);
}
