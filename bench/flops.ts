// Floating-point work of one DCGAN training step, from the conv layers' shapes. Only the convolutions are
// counted (2 per multiply-add); batchnorm, activations, the loss and Adam add well under 1 % on top.
import { DCGAN_CONV_LAYERS } from './conv.js';

type LayerId = 'G1' | 'G2' | 'G3' | 'D1' | 'D2' | 'D3';

/** One pass (forward, grad-input or grad-weight: all three cost the same) of a layer at `batch`. */
function convPassFlops(id: LayerId, batch: number): number {
  const layer = DCGAN_CONV_LAYERS.find((l) => l.name.startsWith(`${id} `));
  if (!layer) throw new Error(`flops: no conv layer ${id}`);
  const { transposed, cin, cout, k, stride, padding, size } = layer;
  // Every multiply-add pairs one pixel of the conv's small side with one k×k tap: the input of a transposed
  // conv, the output of a plain one.
  const small = transposed ? size : Math.floor((size + 2 * padding - k) / stride) + 1;
  return 2 * batch * small * small * cin * cout * k * k;
}

export interface StepFlops {
  /** D on real and on G(z) detached, backward through D (weight and input gradients, none into the data). */
  dStep: number;
  /** G on a fresh z, D on G(z), backward through D's inputs only, then G's weights. */
  gStep: number;
  total: number;
  /** The same step if the G step also computed D's (discarded) weight gradients. */
  totalWithDWeightGrads: number;
}

export function dcganStepFlops(batch: number): StepFlops {
  const f = (id: LayerId) => convPassFlops(id, batch);
  const gForward = f('G1') + f('G2') + f('G3');
  const dForward = f('D1') + f('D2') + f('D3');
  const dWeightGrads = dForward;
  // D1's input is data (or detached), so its input gradient is needed only when G is trained through it.
  const dInputGradsFromD2 = f('D2') + f('D3');
  const dInputGradsAll = f('D1') + dInputGradsFromD2;
  // z needs no gradient, so G1 has only its weight gradient.
  const gBackward = f('G1') + 2 * (f('G2') + f('G3'));
  const dStep = gForward + 2 * (dForward + dWeightGrads + dInputGradsFromD2);
  const gStep = gForward + dForward + dInputGradsAll + gBackward;
  return { dStep, gStep, total: dStep + gStep, totalWithDWeightGrads: dStep + gStep + dWeightGrads };
}
