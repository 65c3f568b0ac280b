// Discriminator rejection sampling's arithmetic against closed forms, and the post-hoc critic learning to tell
// real images from a generator's.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, rng } from './helpers.js';
import { tensor } from '../src/tensor/ops/create.js';
import { Prng } from '../src/data/batches.js';
import { buildGenerator, dcganInit } from '../src/gan/models.js';
import { CriticTrainer, criticLogits } from '../src/gan/critic.js';
import { generate } from '../src/gan/trainer.js';
import { acceptanceProbability, acceptCandidates, ceilingAt } from '../src/gan/rejection.js';
import { rngState, setRngState } from '../src/tensor/state.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** Standard normal draws (Box–Muller on a seeded uniform stream). */
function normals(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

describe('rejection sampling', () => {
  it('accepts with probability min(1, exp(logit − ceiling))', () => {
    expect(acceptanceProbability(2, 1)).toBe(1);
    expect(acceptanceProbability(1, 1)).toBe(1);
    expect(acceptanceProbability(-1, 1)).toBeCloseTo(Math.exp(-2), 15);
    expect(ceilingAt([3, 1, 2, 5, 4], 0.5)).toBe(3);
    expect(ceilingAt([3, 1, 2, 5, 4], 1)).toBe(5);
  });

  // Proposal N(0, 2²), target N(0, 1): the exact log density ratio is log 2 − 3x²/8, largest (log 2) at x = 0.
  const proposal = Float64Array.from(normals(200_000, 5), (x) => 2 * x);
  const logit = (x: number) => Math.log(2) - (3 * x * x) / 8;
  const logits = Float64Array.from(proposal, logit);
  const variance = (xs: number[]) => xs.reduce((s, x) => s + x * x, 0) / xs.length;

  it('turns proposal samples into target samples when the ceiling is the largest logit', () => {
    const accepted = acceptCandidates(logits, Math.log(2), new Prng(1)).map((i) => proposal[i]);
    expect(accepted.length / proposal.length).toBeCloseTo(0.5, 2); // 1 / max(p/q)
    expect(variance(accepted)).toBeCloseTo(1, 1);
    expect(Math.abs(variance(accepted) - 1)).toBeLessThan(0.02);
  });

  it('lands between proposal and target with a lower ceiling, as the closed form says', () => {
    // Ceiling c = log 2 − 3a²/8 accepts |x| ≤ a always and |x| > a with probability exp(−3(x² − a²)/8).
    const a = 1.5;
    const c = logit(a);
    const accepted = acceptCandidates(logits, c, new Prng(2)).map((i) => proposal[i]);
    // Accepted density ∝ N(x; 0, 4)·min(1, exp(−3(x² − a²)/8)); its variance by quadrature, in float64.
    let mass = 0, second = 0;
    for (let x = -20; x <= 20; x += 1e-3) {
      const w = Math.exp(-(x * x) / 8) * Math.min(1, Math.exp((-3 * (x * x - a * a)) / 8));
      mass += w;
      second += w * x * x;
    }
    expect(Math.abs(variance(accepted) - second / mass)).toBeLessThan(0.03);
    expect(second / mass).toBeGreaterThan(1.1); // far from both ends, so the check can tell
    expect(second / mass).toBeLessThan(3);
  });

  it('is reproducible from its seed', () => {
    const some = logits.subarray(0, 1000);
    expect(acceptCandidates(some, 0, new Prng(9))).toEqual(acceptCandidates(some, 0, new Prng(9)));
    expect(acceptCandidates(some, 0, new Prng(9))).not.toEqual(acceptCandidates(some, 0, new Prng(10)));
  });
});

describe('post-hoc critic', () => {
  it('learns to tell real images from a generator\'s, leaving the engine RNG alone', async () => {
    setRngState(engine, { seed: 4, counter: 0 });
    const G = buildGenerator(engine);
    dcganInit(engine, G);
    const rngBefore = rngState(engine);
    const trainer = new CriticTrainer(engine, G, 100, { lr: 2e-3, seed: 3 });
    expect(rngState(engine)).toEqual(rngBefore);
    // "Real": bright blobs whose position varies; G, untrained, draws near-uniform grey.
    const r = rng(8);
    const realBatch = (n: number) => {
      const data = new Float32Array(n * 784);
      for (let i = 0; i < n; i++) {
        const cx = 6 + 16 * r(), cy = 6 + 16 * r();
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) data[i * 784 + y * 28 + x] = (x - cx) ** 2 + (y - cy) ** 2 < 30 ? 1 : -1;
      }
      return tensor(engine, data, [n, 1, 28, 28]);
    };
    let first = 0, last = 0;
    for (let step = 0; step < 25; step++) {
      const real = realBatch(16);
      const loss = trainer.step(real);
      const value = (await loss.toArray())[0];
      if (step === 0) first = value;
      last = value;
      real.dispose();
      loss.dispose();
    }
    expect(last).toBeLessThan(first / 4);
    const heldReal = realBatch(40);
    const z = tensor(engine, Float32Array.from({ length: 40 * 100 }, () => 2 * r() - 1), [40, 100, 1, 1]);
    const fake = generate(engine, G, z);
    const [lr, lf] = [criticLogits(engine, trainer.critic, heldReal), criticLogits(engine, trainer.critic, fake)];
    const [realLogits, fakeLogits] = [await lr.toArray(), await lf.toArray()];
    expect(realLogits.filter((l) => l > 0).length + fakeLogits.filter((l) => l < 0).length).toBeGreaterThanOrEqual(76); // ≥ 95 %
    expect(trainer.critic.training).toBe(true); // scoring put it in eval mode only while it ran
    for (const t of [heldReal, z, fake, lr, lf]) t.dispose();
    trainer.dispose();
    G.dispose();
  });
});
