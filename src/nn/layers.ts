// The layers the DCGAN and the feature classifier are built from.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { defaultUniform, constant } from './init.js';
import { conv2d, convTranspose2d } from '../tensor/ops/conv.js';
import { batchNorm2d } from '../tensor/ops/batchnorm.js';
import { matmul } from '../tensor/ops/matmul.js';
import { add, relu, leakyRelu, tanh, sigmoid, addScalar, mulScalar } from '../tensor/ops/elementwise.js';
import { reshape, flatten } from '../tensor/ops/shape.js';
import { dropout, upsampleNearest } from '../tensor/ops/misc.js';
import { pad2d, type Pad2d } from '../tensor/ops/pad.js';
import { minibatchStd } from '../tensor/ops/minibatch-std.js';
import { noGrad, tidy } from '../tensor/autograd.js';

export interface ConvOptions {
  stride?: number;
  /** Pixels of zero padding on every side, or 'same' as Keras means it (see samePadding). */
  padding?: number | 'same';
  bias?: boolean;
}

/**
 * Keras's (TensorFlow's) 'same' padding of one spatial axis of `size` for a kernel `k` at `stride`: the output
 * has ceil(size / stride) positions and the padding total = max((out − 1)·stride + k − size, 0) is split with
 * the odd pixel after (bottom/right), so even kernels and stride 2 pad asymmetrically. Returns [before, after].
 */
export function samePadding(size: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** The [top, bottom, left, right] padding of Keras's 'same' for an input of h × w. */
export function samePadding2d(h: number, w: number, k: number, stride: number): Pad2d {
  return [...samePadding(h, k, stride), ...samePadding(w, k, stride)] as Pad2d;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(engine: Engine, readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly options: ConvOptions = {}) {
    super();
    const fanIn = inChannels * kernelSize * kernelSize;
    this.weight = this.parameter('weight', defaultUniform(engine, [outChannels, inChannels, kernelSize, kernelSize], fanIn));
    this.bias = options.bias === false ? null : this.parameter('bias', defaultUniform(engine, [outChannels], fanIn));
  }
  forward(x: Tensor): Tensor {
    return this.convolve(x, this.weight);
  }
  /** This layer's convolution (stride, padding, bias) with a given weight. 'same': pad2d, then no padding. */
  protected convolve(x: Tensor, weight: Tensor): Tensor {
    const stride = this.options.stride ?? 1;
    const padding = this.options.padding ?? 0;
    if (padding !== 'same') return conv2d(x, weight, this.bias, { stride, padding });
    const pads = samePadding2d(x.shape[2], x.shape[3], this.kernelSize, stride);
    const padded = pads.some((p) => p > 0) ? pad2d(x, pads) : x;
    return conv2d(padded, weight, this.bias, { stride, padding: 0 });
  }
  override describe(): string {
    const { stride = 1, padding = 0 } = this.options;
    return `Conv2d(${this.inChannels}→${this.outChannels}, k${this.kernelSize}, s${stride}, ${padding === 'same' ? "'same'" : `p${padding}`})`;
  }
}

export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(engine: Engine, readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly options: ConvOptions & { outputPadding?: number } = {}) {
    super();
    // PyTorch computes fan-in from weight dim 1 (out channels) for transposed convs.
    const fanIn = outChannels * kernelSize * kernelSize;
    this.weight = this.parameter('weight', defaultUniform(engine, [inChannels, outChannels, kernelSize, kernelSize], fanIn));
    this.bias = options.bias === false ? null : this.parameter('bias', defaultUniform(engine, [outChannels], fanIn));
  }
  /**
   * 'same' (Keras): the output is input·stride per side; the full transposed convolution ((in − 1)·stride + k)
   * is cropped by the padding of the conv it is the transpose of, the odd pixel from the bottom/right.
   */
  forward(x: Tensor): Tensor {
    const { stride = 1, padding = 0, outputPadding = 0 } = this.options;
    if (padding !== 'same') return convTranspose2d(x, this.weight, this.bias, { stride, padding, outputPadding });
    const full = convTranspose2d(x, this.weight, this.bias, { stride, padding: 0, outputPadding: 0 });
    const [t, b] = samePadding(x.shape[2] * stride, this.kernelSize, stride);
    const [l, r] = samePadding(x.shape[3] * stride, this.kernelSize, stride);
    return t + b + l + r > 0 ? pad2d(full, [-t, -b, -l, -r]) : full;
  }
  override describe(): string {
    const { stride = 1, padding = 0 } = this.options;
    return `ConvTranspose2d(${this.inChannels}→${this.outChannels}, k${this.kernelSize}, s${stride}, ${padding === 'same' ? "'same'" : `p${padding}`})`;
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(engine: Engine, readonly channels: number, readonly options: { momentum?: number; eps?: number } = {}) {
    super();
    this.weight = this.parameter('weight', constant(engine, [channels], 1));
    this.bias = this.parameter('bias', constant(engine, [channels], 0));
    this.runningMean = this.buffer('running_mean', constant(engine, [channels], 0));
    this.runningVar = this.buffer('running_var', constant(engine, [channels], 1));
  }
  forward(x: Tensor): Tensor {
    return batchNorm2d(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training,
      momentum: this.options.momentum ?? 0.1,
      eps: this.options.eps ?? 1e-5,
    });
  }
  override describe(): string {
    return `BatchNorm2d(${this.channels})`;
  }
}

/** Batchnorm over the features of [N, F] (Keras's BatchNormalization after a Dense layer): batchNorm2d on [N, F, 1, 1]. */
export class BatchNorm1d extends BatchNorm2d {
  override forward(x: Tensor): Tensor {
    return reshape(super.forward(reshape(x, [x.shape[0], x.shape[1], 1, 1])), [x.shape[0], x.shape[1]]);
  }
  override describe(): string {
    return `BatchNorm1d(${this.channels})`;
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(engine: Engine, readonly inFeatures: number, readonly outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    this.weight = this.parameter('weight', defaultUniform(engine, [outFeatures, inFeatures], inFeatures));
    this.bias = options.bias === false ? null : this.parameter('bias', defaultUniform(engine, [outFeatures], inFeatures));
  }
  forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight, { transposeB: true });
    return this.bias ? add(y, this.bias) : y;
  }
  override describe(): string {
    return `Linear(${this.inFeatures}→${this.outFeatures})`;
  }
}

/** A parameter-free layer from a function. */
class Lambda extends Module {
  constructor(private readonly name: string, private readonly fn: (x: Tensor, training: boolean) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x, this.training);
  }
  override describe(): string {
    return this.name;
  }
}

export const ReLU = () => new Lambda('ReLU', relu);
export const LeakyReLU = (slope = 0.01) => new Lambda(`LeakyReLU(${slope})`, (x) => leakyRelu(x, slope));
export const Tanh = () => new Lambda('Tanh', tanh);
export const Sigmoid = () => new Lambda('Sigmoid', sigmoid);
export const Flatten = () => new Lambda('Flatten', flatten);
export const Reshape = (shape: number[]) => new Lambda(`Reshape(${shape.join('×')})`, (x) => reshape(x, [x.shape[0], ...shape]));
export const Upsample = (scale: number) => new Lambda(`Upsample(×${scale})`, (x) => upsampleNearest(x, scale));
/** [0, 1] images → [−1, 1]: 2x − 1. */
export const ToSignedRange = () => new Lambda('ToSignedRange(2x − 1)', (x) => addScalar(mulScalar(x, 2), -1));
export const Dropout = (p: number) => new Lambda(`Dropout(${p})`, (x, training) => dropout(x, p, training));
/** Appends the minibatch standard-deviation map (minibatchStd): [N, C, H, W] → [N, C + 1, H, W]. */
export const MinibatchStd = (groupSize: number) => new Lambda(`MinibatchStd(group ${groupSize})`, (x) => minibatchStd(x, groupSize));

export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.child(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y);
    return y;
  }
}

/** model(x) in eval mode (batchnorm's running statistics, no dropout), without a graph; the model's mode is restored. */
export function inference(engine: Engine, model: Module & { forward(x: Tensor): Tensor }, x: Tensor): Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(engine, () => tidy(engine, () => model.forward(x)));
  } finally {
    model.train(wasTraining);
  }
}
