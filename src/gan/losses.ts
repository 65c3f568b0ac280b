// The adversarial losses a GanTrainer can use, as functions of D's logits.
//   bce:   the original (non-saturating) DCGAN loss, with one-sided label smoothing on real targets.
//   hinge: D minimises E[relu(1 − D(x))] + E[relu(1 + D(G(z)))], G minimises −E[D(G(z))] (Miyato et al. 2018).
//   rpgan: the relativistic pairing loss (Jolicoeur-Martineau 2019; Sun et al. 2020; R3GAN, Huang et al. 2024):
//          D minimises E[softplus(D(G(z)ᵢ) − D(xᵢ))], G E[softplus(D(xᵢ) − D(G(z)ᵢ))], real image i paired
//          with fake image i (of the same class in a conditional model). No label smoothing.
import type { Tensor } from '../tensor/tensor.js';
import { add, sub, relu, neg, addScalar, mulScalar } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import { bceWithLogits } from '../tensor/ops/loss.js';

export type GanLossName = 'bce' | 'hinge' | 'rpgan';
export const GAN_LOSSES: GanLossName[] = ['bce', 'hinge', 'rpgan'];

export interface GanLoss {
  /** Logits [B, 1] each; a pairing loss needs the same B on both sides. */
  discriminator(realLogits: Tensor, fakeLogits: Tensor): Tensor;
  /** `realLogits`: D on the real batch, given only when `pairsWithReal` (D is then run on it in G's step too). */
  generator(fakeLogits: Tensor, realLogits?: Tensor): Tensor;
  /** Whether G's loss reads D's logits on the real batch. */
  readonly pairsWithReal: boolean;
}

/** D's targets: real → `real`, fake → `fake` (G's target is `real`); with `noise`, each D target moves by noise·U(0, 1) toward the other. */
export interface GanLabels {
  real: number;
  fake: number;
  noise: number;
  /** Draws the noise: U(0, 1) of the logits' shape (from the engine's stream). */
  uniform?: (like: Tensor) => Tensor;
}

/** The target tensor `label` ± noise·U(0, 1) toward `other`, or the number itself without noise. */
function target(label: number, other: number, labels: GanLabels, like: Tensor): Tensor | number {
  if (!labels.noise || !labels.uniform) return label;
  return addScalar(mulScalar(labels.uniform(like), Math.sign(other - label) * labels.noise), label);
}

export function ganLoss(name: GanLossName, realLabel: number, labels: GanLabels = { real: realLabel, fake: 0, noise: 0 }): GanLoss {
  if (name === 'hinge') {
    const meanOf = (t: Tensor) => reshape(mean(t), [1]);
    return {
      discriminator: (real, fake) => add(meanOf(relu(addScalar(neg(real), 1))), meanOf(relu(addScalar(fake, 1)))),
      generator: (fake) => neg(meanOf(fake)),
      pairsWithReal: false,
    };
  }
  if (name === 'rpgan') {
    // softplus(d) is BCE(d, target 0): the one stable kernel for both.
    const paired = (real: Tensor, fake: Tensor) => {
      if (real.size !== fake.size) throw new Error(`rpgan loss: ${real.size} real logits cannot pair with ${fake.size} fake ones`);
    };
    return {
      discriminator: (real, fake) => {
        paired(real, fake);
        return bceWithLogits(sub(fake, real), 0);
      },
      generator: (fake, real) => {
        if (!real) throw new Error("rpgan loss: G's loss needs D's logits on the real batch");
        paired(real, fake);
        return bceWithLogits(sub(real, fake), 0);
      },
      pairsWithReal: true,
    };
  }
  const { real: r, fake: f } = labels;
  return {
    discriminator: (real, fake) => add(bceWithLogits(real, target(r, f, labels, real)), bceWithLogits(fake, target(f, r, labels, fake))),
    generator: (fake) => bceWithLogits(fake, r),
    pairsWithReal: false,
  };
}
