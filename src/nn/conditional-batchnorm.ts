// Class-conditional batchnorm (de Vries et al. 2017; the generator of Miyato & Koyama 2018's projection cGAN):
// the batch is normalised as BatchNorm2d does, without a learned affine, and each image is then scaled and
// shifted by its class's γ and β rows. The rows are taken as a one-hot matrix product, as Embedding does.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { constant, normal } from './init.js';
import { keep } from '../tensor/autograd.js';
import { batchNorm2d, type BatchNormOptions } from '../tensor/ops/batchnorm.js';
import { matmul } from '../tensor/ops/matmul.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { reshape } from '../tensor/ops/shape.js';

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
  // The identity affine handed to batchNorm2d: constants, not parameters (no gradient, not in the state dict).
  private readonly unitScale: Tensor;
  private readonly zeroShift: Tensor;

  constructor(engine: Engine, readonly channels: number, readonly classes: number, readonly options: { momentum?: number; eps?: number } = {}) {
    super();
    this.weight = this.parameter('weight', constant(engine, [classes, channels], 1));
    this.bias = this.parameter('bias', normal(engine, [classes, channels], 0, 1));
    this.runningMean = this.buffer('running_mean', constant(engine, [channels], 0));
    this.runningVar = this.buffer('running_var', constant(engine, [channels], 1));
    this.unitScale = keep(constant(engine, [channels], 1));
    this.zeroShift = keep(constant(engine, [channels], 0));
  }

  forward(_x: Tensor): Tensor {
    throw new Error('ConditionalBatchNorm2d: needs the class of each image; call forwardWithClasses(x, oneHot(labels))');
  }

  /** x [B, channels, H, W] and one-hot rows [B, classes] → [B, channels, H, W] (see conditionalBatchNorm2d). */
  forwardWithClasses(x: Tensor, oneHotRows: Tensor): Tensor {
    return conditionalBatchNorm2d(x, oneHotRows, this.weight, this.bias, this.runningMean, this.runningVar, this.unitScale, this.zeroShift, {
      training: this.training,
      momentum: this.options.momentum ?? 0.1,
      eps: this.options.eps ?? 1e-5,
    });
  }

  override describe(): string {
    return `ConditionalBatchNorm2d(${this.channels}, classes ${this.classes})`;
  }

  override dispose(): void {
    super.dispose();
    this.unitScale.dispose();
    this.zeroShift.dispose();
  }
}

/**
 * y = x̂·γ[class] + β[class]: x [B, C, H, W] normalised per channel (batchNorm2d with the identity affine
 * `unitScale` [C] of ones and `zeroShift` [C] of zeros: the batch's statistics in training, which also update
 * runningMean/runningVar [C], or those in eval), then each image scaled and shifted by the rows of gamma and
 * beta [classes, C] that its one-hot row [B, classes] picks. Throws for rows or parameters of other shapes.
 */
export function conditionalBatchNorm2d(x: Tensor, oneHotRows: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
  unitScale: Tensor, zeroShift: Tensor, options: BatchNormOptions): Tensor {
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
  const normalised = batchNorm2d(x, unitScale, zeroShift, runningMean, runningVar, options);
  const rows = (t: Tensor) => reshape(matmul(oneHotRows, t), [b, c, 1, 1]);
  return add(mul(normalised, rows(gamma)), rows(beta));
}
