// The reference DCGAN and its training step written in TensorFlow.js, layer for layer as src/gan/models.ts
// and src/gan/trainer.ts, for timing atelier against tfjs backends. NHWC (tfjs's layout): the same arithmetic.
// Bench-only: the engine never imports tfjs.
import type * as Tfjs from '@tensorflow/tfjs-core';
import { DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { LATENT_DIM, perImageShape, type LayerFacts, type ModelFacts } from './model-check.js';

type Tf = typeof Tfjs;
type Tensor = Tfjs.Tensor;
type Tensor4D = Tfjs.Tensor4D;

interface Layer {
  name: string;
  params: Tfjs.Variable[];
  forward(x: Tensor): Tensor;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;
const INIT_STD = 0.02;

function convTranspose(tf: Tf, cin: number, cout: number, k: number, stride: number, pad: number): Layer {
  const weight = tf.variable(tf.randomNormal([k, k, cout, cin], 0, INIT_STD));
  return {
    name: `conv2dTranspose(${cin}→${cout}, k${k}, s${stride}, p${pad})`,
    params: [weight],
    forward: (x) => {
      const [batch, h, w] = x.shape;
      const out = (n: number) => (n - 1) * stride - 2 * pad + k;
      return tf.conv2dTranspose(x as Tensor4D, weight as Tensor4D, [batch, out(h!), out(w!), cout], stride, pad);
    },
  };
}

function conv(tf: Tf, cin: number, cout: number, k: number, stride: number, pad: number): Layer {
  const weight = tf.variable(tf.randomNormal([k, k, cin, cout], 0, INIT_STD));
  return {
    name: `conv2d(${cin}→${cout}, k${k}, s${stride}, p${pad})`,
    params: [weight],
    forward: (x) => tf.conv2d(x as Tensor4D, weight as Tensor4D, stride, pad),
  };
}

/** Training-mode batchnorm: batch statistics, running statistics updated with the unbiased variance. */
function batchNorm(tf: Tf, channels: number): Layer {
  const gamma = tf.variable(tf.randomNormal([channels], 1, INIT_STD));
  const beta = tf.variable(tf.zeros([channels]));
  const runningMean = tf.variable(tf.zeros([channels]), false);
  const runningVar = tf.variable(tf.ones([channels]), false);
  return {
    name: `batchNorm(${channels})`,
    params: [gamma, beta],
    forward: (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const n = x.size / channels;
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
      runningVar.assign(tf.add(tf.mul(runningVar, 1 - BN_MOMENTUM), tf.mul(variance, (BN_MOMENTUM * n) / (n - 1))));
      return tf.batchNorm(x, mean, variance, beta, gamma, BN_EPS);
    },
  };
}

const activation = (name: string, fn: (x: Tensor) => Tensor): Layer => ({ name, params: [], forward: fn });

function generator(tf: Tf): Layer[] {
  return [
    convTranspose(tf, LATENT_DIM, 128, 7, 1, 0), batchNorm(tf, 128), activation('relu', tf.relu),
    convTranspose(tf, 128, 64, 4, 2, 1), batchNorm(tf, 64), activation('relu', tf.relu),
    convTranspose(tf, 64, 1, 4, 2, 1), activation('tanh', tf.tanh),
  ];
}

function discriminator(tf: Tf): Layer[] {
  return [
    conv(tf, 1, 64, 4, 2, 1), activation('leakyRelu(0.2)', (x) => tf.leakyRelu(x, 0.2)),
    conv(tf, 64, 128, 4, 2, 1), batchNorm(tf, 128), activation('leakyRelu(0.2)', (x) => tf.leakyRelu(x, 0.2)),
    conv(tf, 128, 1, 7, 1, 0), activation('flatten', (x) => tf.reshape(x, [x.shape[0], -1])),
  ];
}

const run = (layers: Layer[], x: Tensor) => layers.reduce((y, layer) => layer.forward(y), x);
const paramsOf = (layers: Layer[]) => layers.flatMap((l) => l.params);

export class TfjsDcgan {
  private readonly G: Layer[];
  private readonly D: Layer[];
  private readonly optG: Tfjs.AdamOptimizer;
  private readonly optD: Tfjs.AdamOptimizer;
  private readonly config = DEFAULT_GAN_CONFIG;

  constructor(private readonly tf: Tf) {
    this.G = generator(tf);
    this.D = discriminator(tf);
    const { lrG, lrD, beta1, beta2 } = this.config;
    // atelier's Adam ε; tfjs would otherwise take its backend's (1e-7)
    this.optG = tf.train.adam(lrG, beta1, beta2, 1e-8);
    this.optD = tf.train.adam(lrD, beta1, beta2, 1e-8);
  }

  private bce(logits: Tensor, target: number): Tfjs.Scalar {
    return this.tf.losses.sigmoidCrossEntropy(this.tf.fill(logits.shape, target), logits) as Tfjs.Scalar;
  }

  /**
   * One training step on real images [B, 28, 28, 1], as GanTrainer.step: D on real and on G(z) (computed
   * outside D's gradient, i.e. detached), one D update; G on a fresh z through D, one G update (the variable
   * list keeps D's weight gradients out). Returns [lossD, lossG, mean D(x), mean D(G(z))].
   */
  step(real: Tensor4D): Tfjs.Tensor1D {
    const { tf, G, D, config } = this;
    const batch = real.shape[0];
    const kept: Tensor[] = [];
    const stats = tf.tidy(() => {
      const fake = run(G, tf.randomNormal([batch, 1, 1, config.latentDim]));
      const lossD = this.optD.minimize(() => {
        const realLogits = run(D, real);
        const fakeLogits = run(D, fake);
        kept.push(tf.keep(tf.mean(tf.sigmoid(realLogits))), tf.keep(tf.mean(tf.sigmoid(fakeLogits))));
        return tf.add(this.bce(realLogits, config.realLabel), this.bce(fakeLogits, 0)) as Tfjs.Scalar;
      }, true, paramsOf(D))!;
      const lossG = this.optG.minimize(() => {
        const z = tf.randomNormal([batch, 1, 1, config.latentDim]);
        return this.bce(run(D, run(G, z)), config.realLabel);
      }, true, paramsOf(G))!;
      return tf.stack([lossD, lossG, ...kept]) as Tfjs.Tensor1D;
    });
    for (const t of kept) t.dispose();
    return stats;
  }

  /** Each layer's output shape and parameter count, from a batch of 2 run layer by layer. */
  facts(): ModelFacts {
    const { tf } = this;
    const walk = (layers: Layer[], input: number[]): LayerFacts[] => tf.tidy(() => {
      let x = tf.randomNormal(input);
      return layers.map((layer) => {
        x = layer.forward(x);
        return { name: layer.name, shape: perImageShape(x.shape, 'NHWC'), params: layer.params.reduce((n, p) => n + p.size, 0) };
      });
    });
    return { G: walk(this.G, [2, 1, 1, LATENT_DIM]), D: walk(this.D, [2, 28, 28, 1]) };
  }

  dispose(): void {
    this.optG.dispose();
    this.optD.dispose();
    this.tf.disposeVariables();
  }
}
