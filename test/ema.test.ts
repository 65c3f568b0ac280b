import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, expectClose } from './helpers.js';
import { emaKernel } from '../src/kernels/ema.js';
import { WeightAverage } from '../src/gan/ema.js';
import { buildGenerator, dcganInit } from '../src/gan/models.js';
import { copyInto, randn } from '../src/tensor/ops/create.js';
import { tidy } from '../src/tensor/autograd.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

describe('emaKernel', () => {
  for (const n of [1, 37, 64, 1029]) {
    it(`tracks a float64 moving average over 5 updates (n=${n})`, async () => {
      const average = randomArray(n, n, -1, 1);
      const a = toGpu(engine, average, [n]);
      for (let step = 0; step < 5; step++) {
        const x = randomArray(n, 100 * step + n, -2, 2);
        const decay = [0.9, 0.5, 0.999, 0, 1][step];
        tidy(engine, () => emaKernel(a, toGpu(engine, x, [n]), decay));
        for (let i = 0; i < n; i++) average[i] = decay * average[i] + (1 - decay) * x[i];
      }
      expectClose(await a.toArray(), average, 1e-5, 1e-3, `ema n=${n}`);
      a.dispose();
    });
  }

  it('rejects a decay outside [0, 1] and mismatched sizes', () => {
    tidy(engine, () => {
      const a = toGpu(engine, randomArray(8, 1), [8]);
      expect(() => emaKernel(a, toGpu(engine, randomArray(8, 2), [8]), 1.5)).toThrow(/decay 1.5/);
      expect(() => emaKernel(a, toGpu(engine, randomArray(9, 2), [9]), 0.5)).toThrow(/shape \[8\]/);
    });
  });
});

describe('WeightAverage', () => {
  it('starts equal to the source and averages weights and batchnorm statistics', async () => {
    const source = buildGenerator(engine, 5);
    dcganInit(engine, source);
    const average = new WeightAverage(engine, buildGenerator(engine, 5), source, 0.75);
    const names = [...source.stateDict().keys()];
    expect(names).toContain('1.running_mean');
    const before = new Map<string, Float32Array>();
    for (const [name, t] of source.stateDict()) before.set(name, await t.toArray());
    for (const [name, t] of average.model.stateDict()) expect(await t.toArray()).toEqual(before.get(name));
    // move every source tensor, then average once
    tidy(engine, () => {
      for (const [, t] of source.stateDict()) copyInto(t, randn(engine, t.shape));
    });
    average.update(1e9); // late in training the decay is the configured one
    const after = source.stateDict();
    for (const [name, t] of average.model.stateDict()) {
      const old = before.get(name)!;
      const now = await after.get(name)!.toArray();
      const expected = Float64Array.from(old, (v, i) => 0.75 * v + 0.25 * now[i]);
      expectClose(await t.toArray(), expected, 1e-5, 1e-3, name);
    }
    // early on it ramps up: after step 0 the decay is min(0.75, 1/10)
    const copy = await average.model.stateDict().get('0.weight')!.toArray();
    const source0 = await after.get('0.weight')!.toArray();
    average.update(0);
    const ramped = Float64Array.from(copy, (v, i) => 0.1 * v + 0.9 * source0[i]);
    expectClose(await average.model.stateDict().get('0.weight')!.toArray(), ramped, 1e-5, 1e-3, 'ramped decay');
    expect(average.model.training).toBe(false);
    expect(average.model.parameters().every((p) => !p.requiresGrad)).toBe(true);
    average.dispose();
    source.dispose();
  });
});
