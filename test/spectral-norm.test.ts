// Spectral normalisation: the power iteration's σ against a float64 one run to convergence, σ = uᵀWv against
// float64, the normalised conv's gradients against finite differences, and u, v frozen in eval mode.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, toGpu, gradCheck } from './helpers.js';
import { tidy, noGrad } from '../src/tensor/autograd.js';
import { div } from '../src/tensor/ops/elementwise.js';
import { reshape } from '../src/tensor/ops/shape.js';
import { conv2d } from '../src/tensor/ops/conv.js';
import { copyInto } from '../src/tensor/ops/create.js';
import { SpectralNormConv2d, sigmaOf } from '../src/nn/spectral-norm.js';
import { setRngState } from '../src/tensor/state.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

/** Largest singular value of an m×n row-major matrix, float64 power iteration on WᵀW to convergence. */
function largestSingularValue(w: ArrayLike<number>, m: number, n: number): number {
  let v = Float64Array.from({ length: n }, (_, i) => 1 + (i % 3));
  let sigma = 0;
  for (let it = 0; it < 2000; it++) {
    const wv = new Float64Array(m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) wv[i] += w[i * n + j] * v[j];
    const next = new Float64Array(n);
    for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) next[j] += w[i * n + j] * wv[i];
    const norm = Math.hypot(...next);
    v = next.map((x) => x / norm);
    sigma = Math.sqrt(norm);
  }
  return sigma;
}

describe('spectral normalisation', () => {
  it('converges to the largest singular value of the weight seen as out × in·k·k, and freezes in eval mode', async () => {
    setRngState(engine, { seed: 7, counter: 0 });
    const layer = new SpectralNormConv2d(engine, 3, 5, 3, { bias: false });
    const expected = largestSingularValue(await layer.weight.toArray(), 5, 27);
    let sigma = 0;
    for (let i = 0; i < 60; i++) {
      const s = noGrad(engine, () => tidy(engine, () => layer.sigma()));
      sigma = (await s.toArray())[0];
      s.dispose();
    }
    expect(Math.abs(sigma - expected) / expected).toBeLessThan(1e-4);
    layer.eval();
    const u = await layer.u.toArray();
    const again = noGrad(engine, () => tidy(engine, () => layer.sigma()));
    expect((await again.toArray())[0]).toBeCloseTo(sigma, 5);
    expect(Array.from(await layer.u.toArray())).toEqual(Array.from(u));
    again.dispose();
    layer.dispose();
  });

  it('σ = uᵀ W v against float64, and the normalised weight is W / σ', async () => {
    const [m, n] = [7, 11];
    const w = randomArray(m * n, 1), u = randomArray(m, 2), v = randomArray(n, 3);
    let expected = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expected += u[i] * w[i * n + j] * v[j];
    const out = tidy(engine, () => sigmaOf(toGpu(engine, w, [m, n]), toGpu(engine, u, [m, 1]), toGpu(engine, v, [n, 1])));
    expect(Math.abs((await out.toArray())[0] - expected)).toBeLessThan(1e-5 * (1 + Math.abs(expected)));
    out.dispose();
  });

  it('its conv has gradients that match finite differences, with u and v held constant', async () => {
    const u = toGpu(engine, randomArray(4, 5), [4, 1]);
    const v = toGpu(engine, randomArray(3 * 3 * 3, 6), [27, 1]);
    await gradCheck(engine, (x, w) => conv2d(x, div(w, reshape(sigmaOf(reshape(w, [4, 27]), u, v), [1, 1, 1, 1])), null, { stride: 2, padding: 1 }), [
      { data: randomArray(2 * 3 * 5 * 5, 1), shape: [2, 3, 5, 5] },
      { data: randomArray(4 * 3 * 3 * 3, 2, 0.2, 1), shape: [4, 3, 3, 3] }, // positive, so σ stays away from 0
    ], { eps: 1e-3 });
    u.dispose();
    v.dispose();
  });

  it('its forward pass is the plain conv with the weight divided by σ', async () => {
    setRngState(engine, { seed: 8, counter: 0 });
    const layer = new SpectralNormConv2d(engine, 2, 3, 4, { stride: 2, padding: 1, bias: false }).eval();
    copyInto(layer.u, toGpu(engine, [0.6, 0.8, 0], [3, 1]));
    const x = toGpu(engine, randomArray(1 * 2 * 7 * 7, 4), [1, 2, 7, 7]);
    const [y, sigma] = noGrad(engine, () => [layer.forward(x), layer.sigma()]);
    const s = (await sigma.toArray())[0];
    const plain = noGrad(engine, () => conv2d(x, layer.weight, null, { stride: 2, padding: 1 }));
    const a = await y.toArray(), b = await plain.toArray();
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i] / s)).toBeLessThan(1e-5 * (1 + Math.abs(b[i] / s)));
    for (const t of [x, y, sigma, plain]) t.dispose();
    layer.dispose();
  });
});
