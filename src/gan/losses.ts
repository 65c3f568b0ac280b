// The adversarial losses a GanTrainer can use, as functions of D's logits.
//   bce:   the original (non-saturating) DCGAN loss, with one-sided label smoothing on real targets.
//   hinge: D minimises E[relu(1 − D(x))] + E[relu(1 + D(G(z)))], G minimises −E[D(G(z))] (Miyato et al. 2018).
import type { Tensor } from '../tensor/tensor.js';
import { add, relu, neg, addScalar } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import { bceWithLogits } from '../tensor/ops/loss.js';

export type GanLossName = 'bce' | 'hinge';
export const GAN_LOSSES: GanLossName[] = ['bce', 'hinge'];

export interface GanLoss {
  discriminator(realLogits: Tensor, fakeLogits: Tensor): Tensor;
  generator(fakeLogits: Tensor): Tensor;
}

export function ganLoss(name: GanLossName, realLabel: number): GanLoss {
  if (name === 'hinge') {
    const meanOf = (t: Tensor) => reshape(mean(t), [1]);
    return {
      discriminator: (real, fake) => add(meanOf(relu(addScalar(neg(real), 1))), meanOf(relu(addScalar(fake, 1)))),
      generator: (fake) => neg(meanOf(fake)),
    };
  }
  return {
    discriminator: (real, fake) => add(bceWithLogits(real, realLabel), bceWithLogits(fake, 0)),
    generator: (fake) => bceWithLogits(fake, realLabel),
  };
}
