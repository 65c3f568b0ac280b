// GPU memory stays flat: 1,000 forward + backward + Adam steps on a small conv net (a spectrally normalised conv
// included) allocate nothing after warm-up, neither buffers nor the textures big products stage their operands
// in (forced on here); the same for conditional batchnorm with fresh one-hot rows each step, and for the R1/R2
// gradient penalty's extra backward, forwards and saved running statistics.
import { it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine } from './helpers.js';
import { tidy, backward } from '../src/tensor/autograd.js';
import { randn } from '../src/tensor/ops/create.js';
import { Sequential, Conv2d, BatchNorm2d, LeakyReLU, ConvTranspose2d, Tanh, Flatten, Linear } from '../src/nn/layers.js';
import { Adam } from '../src/nn/adam.js';
import { SpectralNormConv2d } from '../src/nn/spectral-norm.js';
import { bceWithLogits } from '../src/tensor/ops/loss.js';
import { mean } from '../src/tensor/ops/reduce.js';
import { matmulConfig } from '../src/kernels/matmul.js';
import { ConditionalBatchNorm2d } from '../src/nn/conditional-batchnorm.js';
import { oneHot } from '../src/nn/embedding.js';
import { flatten } from '../src/tensor/ops/shape.js';
import { add } from '../src/tensor/ops/elementwise.js';
import { Network } from '../src/gan/network.js';
import { gradientPenalty } from '../src/gan/gradient-penalty.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

it('pool bytes and textures stay flat over 1,000 training steps', async () => {
  const saved = matmulConfig.textureMinMacs;
  matmulConfig.textureMinMacs = 0;
  const net = new Sequential(
    new Conv2d(engine, 1, 6, 3, { stride: 2, padding: 1 }),
    new BatchNorm2d(engine, 6),
    LeakyReLU(0.2),
    new ConvTranspose2d(engine, 6, 1, 4, { stride: 2, padding: 1 }),
    Tanh(),
    new SpectralNormConv2d(engine, 1, 2, 3, { padding: 1 }), // its power iteration writes buffers every step
    Flatten(),
  );
  const opt = new Adam(engine, net.parameters(), { lr: 1e-3, beta1: 0.5 });
  const x = randn(engine, [3, 1, 9, 9]);
  const step = () => tidy(engine, () => {
    backward(bceWithLogits(mean(net.forward(x), 1, true), 0.9));
    opt.update();
    engine.flush();
  });
  for (let i = 0; i < 20; i++) step();
  await engine.sync();
  const warm = { allocated: engine.pool.allocatedBytes, inUse: engine.pool.inUseBytes, created: engine.pool.buffersCreated };
  const textures = { created: engine.textures.texturesCreated, bytes: engine.textures.allocatedBytes };
  expect(textures.created).toBeGreaterThan(0);
  for (let i = 0; i < 1000; i++) {
    step();
    if (i % 100 === 99) await engine.sync();
  }
  await engine.sync();
  expect(engine.pool.buffersCreated).toBe(warm.created);
  expect(engine.pool.allocatedBytes).toBe(warm.allocated);
  expect(engine.pool.inUseBytes).toBe(warm.inUse);
  expect(engine.textures.texturesCreated).toBe(textures.created);
  expect(engine.textures.allocatedBytes).toBe(textures.bytes);
  matmulConfig.textureMinMacs = saved;
  x.dispose();
  opt.dispose();
  net.dispose();
});

/** Runs `step` 20 times to warm up, then 1,000 times, and expects the pool to have allocated nothing more. */
async function expectPoolFlat(step: (i: number) => void): Promise<void> {
  for (let i = 0; i < 20; i++) step(i);
  await engine.sync();
  const warm = { allocated: engine.pool.allocatedBytes, inUse: engine.pool.inUseBytes, created: engine.pool.buffersCreated };
  for (let i = 0; i < 1000; i++) {
    step(i);
    if (i % 100 === 99) await engine.sync();
  }
  await engine.sync();
  expect(engine.pool.buffersCreated).toBe(warm.created);
  expect(engine.pool.allocatedBytes).toBe(warm.allocated);
  expect(engine.pool.inUseBytes).toBe(warm.inUse);
}

it('conditional batchnorm and its one-hot rows allocate nothing after warm-up over 1,000 steps', async () => {
  const conv = new Conv2d(engine, 1, 4, 3, { padding: 1 });
  const norm = new ConditionalBatchNorm2d(engine, 4, 5);
  const opt = new Adam(engine, [...conv.parameters(), ...norm.parameters()], { lr: 1e-3, beta1: 0.5 });
  const x = randn(engine, [3, 1, 5, 5]);
  const step = (i: number) => tidy(engine, () => {
    const rows = oneHot(engine, [i % 5, 3, (i * 7) % 5], 5);
    backward(bceWithLogits(mean(flatten(norm.forwardWithClasses(conv.forward(x), rows)), 1, true), 0.9));
    opt.update();
    engine.flush();
  });
  await expectPoolFlat(step);
  x.dispose();
  opt.dispose();
  conv.dispose();
  norm.dispose();
});

it('the gradient penalty allocates nothing after warm-up over 1,000 steps', async () => {
  const D = new Network(0, [new Conv2d(engine, 1, 4, 3, { stride: 2, padding: 1 }), new BatchNorm2d(engine, 4), LeakyReLU(0.2), Flatten(), new Linear(engine, 4 * 4 * 4, 1)]);
  const opt = new Adam(engine, D.parameters(), { lr: 1e-3, beta1: 0.5 });
  const x = randn(engine, [3, 1, 7, 7]);
  const step = () => tidy(engine, () => {
    backward(add(bceWithLogits(D.forward(x), 0.9), gradientPenalty(D, x, null, 0.1)));
    opt.update();
    engine.flush();
  });
  await expectPoolFlat(step);
  x.dispose();
  opt.dispose();
  D.dispose();
});
