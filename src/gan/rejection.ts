// Discriminator rejection sampling's arithmetic (Azadi et al. 2019), on a critic's logits l(x), which estimate
// log p_data(x) / p_G(x). Accepting a generated image with probability min(1, exp(l(x) − c)) leaves the
// accepted images distributed as p_G(x)·min(e^c, e^l(x)): as p_data wherever l(x) ≤ c, so as p_data
// everywhere when the ceiling c is the largest logit, at the cost of accepting about e^−c of the candidates.
// A ceiling at a quantile of the logits keeps the acceptance rate usable and lies between p_G and p_data.
import { Prng } from '../data/batches.js';
import { quantile } from './quality.js';

export function acceptanceProbability(logit: number, ceiling: number): number {
  return logit >= ceiling ? 1 : Math.exp(logit - ceiling);
}

/** The ceiling at the q-quantile of a sample of the critic's logits on generated images. */
export function ceilingAt(logits: ArrayLike<number>, q: number): number {
  if (!logits.length) throw new Error('ceilingAt: no logits');
  return quantile(Float64Array.from(logits).sort(), q);
}

/** Indices of the accepted candidates, each kept with its acceptance probability (seeded: the same calls, the same picks). */
export function acceptCandidates(logits: ArrayLike<number>, ceiling: number, rng: Prng): number[] {
  const accepted: number[] = [];
  for (let i = 0; i < logits.length; i++) if (rng.next() < acceptanceProbability(logits[i], ceiling)) accepted.push(i);
  return accepted;
}
