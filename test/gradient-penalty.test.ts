import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { getEngine, randomArray, toGpu } from './helpers.js';
import { gradientPenalty } from '../src/gan/gradient-penalty.js';
import { Network } from '../src/gan/network.js';
import { Conv2d, BatchNorm2d, LeakyReLU, Tanh, Flatten, Linear } from '../src/nn/layers.js';
import { backward, tidy } from '../src/tensor/autograd.js';
import { copyInto } from '../src/tensor/ops/create.js';
import { sum } from '../src/tensor/ops/reduce.js';
import { reshape } from '../src/tensor/ops/shape.js';
import { randn } from '../src/tensor/ops/create.js';
import { GanTrainer, DEFAULT_GAN_CONFIG, type GanConfig } from '../src/gan/trainer.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/**
 * A small D with batchnorm between its conv and its linear layer (so the batch statistics couple the images).
 * With tanh the penalty is smooth in D's weights, so finite differences of it are exact to O(ε²); with LeakyReLU
 * ∇ₓD jumps wherever a unit's input changes sign, and a finite difference across such a jump measures the jump.
 */
function smallD(size: number, stride: number, activation: 'tanh' | 'leaky' = 'tanh'): Network {
  const out = Math.floor((size + 2 - 3) / stride) + 1;
  return new Network(0, [new Conv2d(engine, 1, 3, 3, { stride, padding: 1 }), new BatchNorm2d(engine, 3), activation === 'tanh' ? Tanh() : LeakyReLU(0.2), Flatten(), new Linear(engine, 3 * out * out, 1)]);
}

async function setRandom(D: Network, seed: number): Promise<void> {
  for (const [i, [, p]] of D.namedParameters().entries()) {
    const data = randomArray(p.size, seed + i, -0.6, 0.6);
    tidy(engine, () => copyInto(p, toGpu(engine, data, [...p.shape])));
  }
}

/** γ/2 · mean‖∇ₓΣD(x)‖² computed directly (the images' gradient read back, summed in float64). */
async function penaltyOf(D: Network, x: Float64Array, shape: number[], gamma: number): Promise<number> {
  const leaf = toGpu(engine, x, shape, true);
  D.setRequiresGrad(false);
  tidy(engine, () => backward(reshape(sum(D.discriminate(leaf)), [1])));
  D.setRequiresGrad(true);
  const g = await leaf.grad!.toArray();
  leaf.grad!.dispose();
  leaf.dispose();
  return (gamma / 2) * g.reduce((s, v) => s + v * v, 0) / shape[0];
}

describe('gradient penalty (R1/R2 by a central difference)', () => {
  it.each([
    { batch: 5, size: 7, stride: 2, gamma: 0.7 },
    { batch: 1, size: 6, stride: 1, gamma: 2 },
    { batch: 3, size: 9, stride: 2, gamma: 0.05 },
  ])('its value is the penalty and its weight gradient matches finite differences of it, %j', async ({ batch, size, stride, gamma }) => {
    const D = smallD(size, stride);
    await setRandom(D, 31 + batch);
    const shape = [batch, 1, size, size];
    const x = randomArray(batch * size * size, 40 + batch);
    const params = D.namedParameters().map(([, p]) => p);
    const runningBefore = await Promise.all(D.namedBuffers().map(([, t]) => t.toArray()));

    for (const p of params) p.grad = null;
    const value = await tidy(engine, () => {
      const term = gradientPenalty(D, toGpu(engine, x, shape), null, gamma);
      backward(term);
      return term.toArray();
    });
    // The extra forwards leave D's running statistics as they were.
    const runningAfter = await Promise.all(D.namedBuffers().map(([, t]) => t.toArray()));
    runningAfter.forEach((r, i) => expect(Array.from(r)).toEqual(Array.from(runningBefore[i])));
    const direct = await penaltyOf(D, x, shape, gamma);
    expect((await value)[0]).toBeCloseTo(direct, 4);

    const analytic = await Promise.all(params.map((p) => p.grad!.toArray()));
    params.forEach((p) => p.grad?.dispose());
    const scale = Math.max(...analytic.flatMap((a) => Array.from(a, Math.abs)));
    expect(scale).toBeGreaterThan(1e-3);
    const eps = 1e-2;
    for (const [k, p] of params.entries()) {
      const base = Float64Array.from(await p.toArray());
      for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
        const at = async (v: number) => {
          const data = Float64Array.from(base);
          data[i] = v;
          tidy(engine, () => copyInto(p as Tensor, toGpu(engine, data, [...p.shape])));
          return penaltyOf(D, x, shape, gamma);
        };
        const numeric = ((await at(base[i] + eps)) - (await at(base[i] - eps))) / (2 * eps);
        tidy(engine, () => copyInto(p as Tensor, toGpu(engine, base, [...p.shape])));
        expect(Math.abs(numeric - analytic[k][i]) / scale, `parameter ${k} entry ${i}: ${numeric} vs ${analytic[k][i]}`).toBeLessThan(3e-2);
      }
    }
    D.dispose();
  });

  it('on a LeakyReLU D the step h moves no unit across its kink: h = 0.01 and 0.001 give the same gradient', async () => {
    const D = smallD(7, 2, 'leaky');
    await setRandom(D, 36);
    const shape = [5, 1, 7, 7];
    const x = randomArray(5 * 7 * 7, 45);
    const params = D.namedParameters().map(([, p]) => p);
    const gradientAt = async (h: number) => {
      for (const p of params) p.grad = null;
      tidy(engine, () => backward(gradientPenalty(D, toGpu(engine, x, shape), null, 1, h)));
      const out = await Promise.all(params.map((p) => p.grad!.toArray()));
      params.forEach((p) => p.grad?.dispose());
      return out.flatMap((a) => Array.from(a));
    };
    const coarse = await gradientAt(1e-2);
    const fine = await gradientAt(1e-3);
    const scale = Math.max(...fine.map(Math.abs));
    expect(Math.max(...coarse.map((v, i) => Math.abs(v - fine[i]))) / scale).toBeLessThan(1e-2);
    D.dispose();
  });
});

describe('GanTrainer with r1 and r2', () => {
  const stepOnce = async (extra: Partial<GanConfig>) => {
    const trainer = new GanTrainer(engine, { ...DEFAULT_GAN_CONFIG, ngf: 4, ndf: 4, seed: 5, conditional: true, loss: 'rpgan', ...extra });
    tidy(engine, () => trainer.step(randn(engine, [6, 1, 28, 28]), [0, 3, 3, 7, 9, 1]).dispose());
    const state = new Map<string, Float32Array>();
    for (const [name, t] of trainer.D.namedParameters()) state.set(name, await t.toArray());
    trainer.dispose();
    return state;
  };

  it("each penalty changes D's update", async () => {
    const plain = await stepOnce({});
    for (const extra of [{ r1: 0.5 }, { r2: 0.5 }]) {
      const penalised = await stepOnce(extra);
      const changed = [...plain].filter(([name, v]) => !Buffer.from(v.buffer).equals(Buffer.from(penalised.get(name)!.buffer)));
      expect(changed.length, JSON.stringify(extra)).toBeGreaterThan(0);
    }
  });

  it('lazy regularization (dRegEvery K) is the penalty weighted K·γ on D\'s steps 0, K, 2K, … and none between', async () => {
    const real = randn(engine, [6, 1, 28, 28]);
    const labels = [0, 3, 3, 7, 9, 1];
    const base = { ...DEFAULT_GAN_CONFIG, ngf: 4, ndf: 4, seed: 5, conditional: true, loss: 'rpgan' as const };
    // One trainer at a time: each seeds the engine's random stream when it is built.
    const trained = async (config: GanConfig, steps: number, before: (step: number) => void = () => undefined) => {
      const trainer = new GanTrainer(engine, config);
      for (let step = 0; step < steps; step++) {
        before(step);
        tidy(engine, () => trainer.step(real, labels).dispose());
      }
      const state = await Promise.all([...trainer.D.namedParameters(), ...trainer.G.namedParameters()].map(async ([name, t]) => [name, Buffer.from((await t.toArray()).buffer)] as const));
      trainer.dispose();
      return state;
    };
    const lazy = await trained({ ...base, r1: 0.5, r2: 0.25, dRegEvery: 3 }, 5);
    // The same run spelled out: the trainer reads its config on every step.
    const spelled = { ...base, r1: 0, r2: 0 };
    const reference = await trained(spelled, 5, (step) => Object.assign(spelled, step % 3 === 0 ? { r1: 1.5, r2: 0.75 } : { r1: 0, r2: 0 }));
    for (const [i, [name, bytes]] of lazy.entries()) expect(bytes.equals(reference[i][1]), name).toBe(true);
    // …and not the penalty on every step.
    const every = await trained({ ...base, r1: 0.5, r2: 0.25 }, 2);
    const lazyTwo = await trained({ ...base, r1: 0.5, r2: 0.25, dRegEvery: 3 }, 2);
    expect(every[0][1].equals(lazyTwo[0][1])).toBe(false);
    real.dispose();
    expect(() => new GanTrainer(engine, { ...base, r1: 0.5, dRegEvery: 0 })).toThrow(/dRegEvery must be a whole number ≥ 1, got 0/);
  });

  it('refuses a spectrally normalised D', () => {
    expect(() => new GanTrainer(engine, { ...DEFAULT_GAN_CONFIG, ngf: 4, ndf: 4, spectralNorm: true, r1: 0.05 })).toThrow(/R1\/R2 penalties cannot run: D is spectrally normalised/);
  });
});
