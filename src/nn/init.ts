// Weight initialisation on the GPU from the engine's seeded stream (so a seed fixes the whole model).
import type { Engine } from '../runtime/engine.js';
import { randn, rand, fill } from '../tensor/ops/create.js';
import type { Tensor } from '../tensor/tensor.js';

/** PyTorch's default for conv and linear layers: U(−1/√fanIn, 1/√fanIn) for weights and biases alike. */
export function defaultUniform(engine: Engine, shape: number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  return rand(engine, shape, -bound, bound);
}

export const normal = (engine: Engine, shape: number[], mean: number, std: number) => randn(engine, shape, mean, std);
export const constant = (engine: Engine, shape: number[], value: number) => fill(engine, shape, value);

/**
 * Glorot & Bengio (2010) uniform, Keras's default kernel initialiser: U(−b, b) with b = √(6 / (fanIn + fanOut)),
 * where a conv's fans are its input and output channels times the kernel area.
 */
export function glorotUniform(engine: Engine, shape: number[], fanIn: number, fanOut: number): Tensor {
  const bound = Math.sqrt(6 / Math.max(1, fanIn + fanOut));
  return rand(engine, shape, -bound, bound);
}
