// A finite-difference check through a small composed net, the DCGAN's building blocks in a row:
// conv → batchnorm → leaky ReLU → conv-transpose → tanh → BCE-with-logits.
import { it, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine, randomArray, gradCheck } from './helpers.js';
import { conv2d, convTranspose2d } from '../src/tensor/ops/conv.js';
import { batchNorm2d } from '../src/tensor/ops/batchnorm.js';
import { leakyRelu, tanh } from '../src/tensor/ops/elementwise.js';
import { bceWithLogits } from '../src/tensor/ops/loss.js';
import { fill } from '../src/tensor/ops/create.js';
import type { Tensor } from '../src/tensor/tensor.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

it('gradients of a composed net match finite differences for every input and parameter', async () => {
  const net = (x: Tensor, w1: Tensor, gamma: Tensor, beta: Tensor, w2: Tensor, b2: Tensor) => {
    const h = conv2d(x, w1, null, { stride: 2, padding: 1 }); // [2, 3, 3, 3]
    const n = batchNorm2d(h, gamma, beta, fill(engine, [3], 0), fill(engine, [3], 1), { training: true });
    const t = convTranspose2d(leakyRelu(n, 0.2), w2, b2, { stride: 2, padding: 1 }); // [2, 2, 6, 6]
    return bceWithLogits(tanh(t), 0.9);
  };
  await gradCheck(engine, net, [
    { data: randomArray(2 * 2 * 5 * 5, 1), shape: [2, 2, 5, 5] },
    { data: randomArray(3 * 2 * 3 * 3, 2, -0.5, 0.5), shape: [3, 2, 3, 3] },
    { data: randomArray(3, 3, 0.5, 1.5), shape: [3] },
    { data: randomArray(3, 4, -0.5, 0.5), shape: [3] },
    { data: randomArray(3 * 2 * 4 * 4, 5, -0.5, 0.5), shape: [3, 2, 4, 4] },
    { data: randomArray(2, 6, -0.5, 0.5), shape: [2] },
    // a small eps: beta shifts a whole channel, and a larger step would carry some values across leaky ReLU's kink
  ], { eps: 2e-3, tol: 3e-2, samples: 8 });
});
