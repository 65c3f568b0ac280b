// The R1 and R2 gradient penalties (Mescheder et al. 2018; R3GAN, Huang et al. 2024: R1 on real images, R2 on
// generated ones) with first-order autograd only.
//
// The penalty is γ/2 · (1/B) Σᵢ ‖∇_{xᵢ} S‖², S = Σᵢ D(xᵢ). Its gradient in D's weights θ is (γ/B) · Jᵀg with
// g = ∇ₓS and J = ∂g/∂θ, and Jᵀg is the weight gradient of the directional derivative ⟨g, ∇ₓS⟩ with g held
// fixed. That derivative is the central difference (S(x + εg) − S(x − εg)) / 2ε, so one backward to the images
// and two more forwards of D give the penalty's weight gradient, where exact autograd would differentiate D's
// backward pass (double backward).
import { Tensor } from '../tensor/tensor.js';
import type { Network } from './network.js';
import type { LayerSpec } from './spec.js';
import { backward, detach, keep, noGrad } from '../tensor/autograd.js';
import { add, sub, mul, div, sqrt, square, mulScalar, addScalar } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import { copyInto } from '../tensor/ops/create.js';
import { contiguousCopy } from '../runtime/contiguous.js';

/**
 * Why the penalties cannot run on a D built from `layers`, or null when they can. The central difference needs
 * D to be the same function on every forward: dropout draws new masks each time, and spectral norm's power
 * iteration advances on every training forward.
 */
export function penaltyRefusal(layers: readonly LayerSpec[]): string | null {
  if (layers.some((l) => l.type === 'dropout')) return 'D has dropout, which draws new masks on each of the extra forwards the penalty runs';
  if (layers.some((l) => l.type === 'conv2d' && l.spectralNorm)) return "D is spectrally normalised, and each extra forward the penalty runs would advance spectral norm's power iteration";
  return null;
}

/**
 * D's loss term for the gradient penalty γ/2 · (1/B) Σᵢ ‖∇_{xᵢ} S‖² on images x [B, C, H, W] (no gradient of
 * their own), S the sum of D's B logits; `labels` the one-hot rows [B, classes] a projection D reads, else null.
 * Returns a [1] tensor whose value is the penalty and whose gradient in D's weights is the penalty's, the
 * directional derivative taken as a central difference with ε = h / rms, rms = √(‖g‖² / B): each image moves by
 * about `h` in L2 (error O(h²) where D is smooth; a few pixels' worth of h = 0.01 changes no LeakyReLU's sign
 * in practice). Batchnorm sees each perturbed batch whole, as the exact gradient through its batch statistics
 * would; D's running statistics are left as they were before the call. D must not hold spectrally normalised
 * layers or dropout (penaltyRefusal); the trainer refuses those.
 */
export function gradientPenalty(D: Network, x: Tensor, labels: Tensor | null, gamma: number, h = 1e-2): Tensor {
  const b = x.shape[0];
  const running = D.namedBuffers().map(([, t]) => [t, keep(Tensor.adopt(contiguousCopy(t)))] as const);
  const leaf = detach(x);
  leaf.requiresGrad = true;
  D.setRequiresGrad(false);
  try {
    backward(reshape(sum(D.discriminate(leaf, labels)), [1]));
  } finally {
    D.setRequiresGrad(true);
  }
  const g = leaf.grad!;
  leaf.grad = null;
  const { rms, value, delta } = noGrad(x.engine, () => {
    const squares = reshape(sum(square(g)), [1]);
    // (+1e-30: where D is flat, g = 0 and the step is 0 rather than 0/0)
    const rms = addScalar(sqrt(mulScalar(squares, 1 / b)), 1e-30);
    return { rms, value: mulScalar(squares, gamma / (2 * b)), delta: mulScalar(div(g, rms), h) };
  });
  g.dispose();
  const plus = sum(D.discriminate(add(x, delta), labels));
  const minus = sum(D.discriminate(sub(x, delta), labels));
  for (const [t, saved] of running) {
    copyInto(t, saved);
    saved.dispose();
  }
  // (S₊ − S₋) ≈ 2(h / rms)⟨g, ∇ₓS⟩, so this has the weight gradient (γ/B)·Jᵀg.
  const surrogate = reshape(mulScalar(mul(sub(plus, minus), rms), gamma / (2 * b * h)), [1]);
  return add(sub(surrogate, detach(surrogate)), value);
}
