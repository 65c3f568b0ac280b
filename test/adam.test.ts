import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose } from './helpers.js';
import { adamKernel, type AdamStep } from '../src/kernels/adam.js';
import { tidy } from '../src/tensor/autograd.js';
import { Adam } from '../src/nn/adam.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** torch.optim.Adam's update in float64, in place on p, m, v. */
function adamRef(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, o: Required<AdamStep>): void {
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < p.length; i++) {
    const grad = g[i] + o.weightDecay * p[i];
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * grad;
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * grad * grad;
    p[i] -= (o.lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps);
  }
}

describe('adamKernel', () => {
  for (const [n, weightDecay] of [[37, 0], [64, 0], [1, 0.01], [100, 0.05]] as const) {
    it(`tracks a float64 reference over 6 steps (n=${n}, weightDecay=${weightDecay})`, async () => {
      const p = randomArray(n, n, -1, 1);
      const m = new Float64Array(n);
      const v = new Float64Array(n);
      const pt = toGpu(engine, p, [n]);
      const mt = toGpu(engine, m, [n]);
      const vt = toGpu(engine, v, [n]);
      for (let step = 1; step <= 6; step++) {
        // a different gradient every step, of varying scale
        const g = randomArray(n, 1000 * step + n, -step, step * 0.5);
        const o = { lr: 1e-2, beta1: 0.5, beta2: 0.999, eps: 1e-8, step, weightDecay };
        tidy(engine, () => adamKernel(pt, toGpu(engine, g, [n]), mt, vt, o));
        adamRef(p, g, m, v, o);
      }
      expectClose(await pt.toArray(), p, 1e-5, 1e-3, `param n=${n}`);
      // m is a sum of gradients of both signs: near zero compare it on the gradients' scale
      expectClose(await mt.toArray(), m, 1e-5, 1e-2, `m n=${n}`);
      expectClose(await vt.toArray(), v, 1e-5, 1e-12, `v n=${n}`);
      for (const t of [pt, mt, vt]) t.dispose();
    });
  }

  it('uses the default betas of a DCGAN with weightDecay omitted', async () => {
    const n = 24;
    const p = randomArray(n, 5);
    const m = randomArray(n, 6, -0.1, 0.1);
    const v = randomArray(n, 7, 0, 0.01);
    const g = randomArray(n, 8);
    const [pt, mt, vt] = [toGpu(engine, p, [n]), toGpu(engine, m, [n]), toGpu(engine, v, [n])];
    tidy(engine, () => adamKernel(pt, toGpu(engine, g, [n]), mt, vt, { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, step: 40 }));
    adamRef(p, g, m, v, { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, step: 40, weightDecay: 0 });
    expectClose(await pt.toArray(), p, 1e-6, 1e-3, 'param');
    expectClose(await vt.toArray(), v, 1e-5, 1e-12, 'v');
    for (const t of [pt, mt, vt]) t.dispose();
  });

  it('rejects mismatched sizes and a bad step', () => {
    tidy(engine, () => {
      const t = (n: number) => toGpu(engine, randomArray(n, n), [n]);
      const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
      expect(() => adamKernel(t(5), t(4), t(5), t(5), o)).toThrow(/adam: grad has shape \[4\], param has \[5\]/);
      expect(() => adamKernel(t(5), t(5), t(5), t(6), o)).toThrow(/adam: v has shape \[6\], param has \[5\]/);
      expect(() => adamKernel(t(5), t(5), t(5), t(5), { ...o, step: 0 })).toThrow(/adam: step must be an integer ≥ 1, got 0/);
    });
  });
});

describe('Adam (the optimizer)', () => {
  it("new Adam(engine, params) takes PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8", async () => {
    const n = 19;
    const p = randomArray(n, 11);
    const pt = toGpu(engine, p, [n]);
    pt.requiresGrad = true;
    const opt = new Adam(engine, [pt]);
    expect([opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weightDecay]).toEqual([1e-3, 0.9, 0.999, 1e-8, 0]);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    for (let step = 1; step <= 3; step++) {
      const g = randomArray(n, 100 + step, -1, 1);
      pt.grad = toGpu(engine, g, [n]);
      opt.update();
      adamRef(p, g, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step, weightDecay: 0 });
    }
    expectClose(await pt.toArray(), p, 1e-6, 1e-4, 'param');
    opt.dispose();
    pt.dispose();
  });

  it('a changed lr applies from the next update; bad options are refused', () => {
    const pt = toGpu(engine, randomArray(4, 1), [4]);
    const opt = new Adam(engine, [pt], { beta1: 0.5 });
    expect([opt.lr, opt.beta1, opt.beta2]).toEqual([1e-3, 0.5, 0.999]);
    opt.lr = 2e-4;
    expect(opt.lr).toBe(2e-4);
    for (const bad of [{ lr: -1 }, { beta1: 1 }, { beta2: -0.1 }, { eps: -1 }, { weightDecay: Number.NaN }]) {
      expect(() => new Adam(engine, [pt], bad)).toThrow(/^Adam: \w+ = \S+ is out of range$/);
    }
    opt.dispose();
    pt.dispose();
  });
});
