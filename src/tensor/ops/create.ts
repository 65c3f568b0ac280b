// Tensor constructors: from host data, constant fills, seeded random.
import type { Engine } from '../../runtime/engine.js';
import { nextRandomKey } from '../state.js';
import { Tensor, shapeString, sizeOf, type Shape } from '../tensor.js';
import { fillKernel, randomKernel } from '../../kernels/elementwise.js';
import { contiguousCopy } from '../../runtime/contiguous.js';

export function tensor(engine: Engine, data: ArrayLike<number>, shape: Shape = [data.length]): Tensor {
  if (sizeOf(shape) !== data.length) {
    throw new Error(`tensor(): ${data.length} values do not fill shape ${shapeString(shape)}`);
  }
  const t = Tensor.empty(engine, shape, true);
  if (data.length) engine.write(t.buffer, data instanceof Float32Array ? data : Float32Array.from(data));
  return t;
}

export function fill(engine: Engine, shape: Shape, value: number): Tensor {
  return Tensor.adopt(fillKernel(engine, shape, value));
}

export const zeros = (engine: Engine, shape: Shape) => fill(engine, shape, 0);
export const ones = (engine: Engine, shape: Shape) => fill(engine, shape, 1);

/**
 * One draw of the counter-based generator (random.wgsl): the same key always gives the same numbers, and keys
 * that differ in seed or counter give independent ones (as jax's PRNG keys).
 */
export interface RandomKey {
  readonly seed: number;
  readonly counter: number;
}

export interface RandomOptions {
  /** An explicit key. */
  key?: RandomKey;
  /** Shorthand for the key (seed, 0). Without a key or seed the engine's RNG advances. */
  seed?: number;
}

function stream(engine: Engine, options: RandomOptions): [number, number] {
  if (options.key) return [options.key.seed, options.key.counter];
  if (options.seed !== undefined) return [options.seed, 0];
  const key = nextRandomKey(engine);
  return [key.seed, key.counter];
}

/** N(mean, std²). */
export function randn(engine: Engine, shape: Shape, mean = 0, std = 1, options: RandomOptions = {}): Tensor {
  return Tensor.adopt(randomKernel(engine, shape, true, mean, std, ...stream(engine, options)));
}

/** Uniform on [low, high). */
export function rand(engine: Engine, shape: Shape, low = 0, high = 1, options: RandomOptions = {}): Tensor {
  return Tensor.adopt(randomKernel(engine, shape, false, low, high, ...stream(engine, options)));
}

/**
 * Overwrites dst's values with src's (same size; src may be a strided view, dst may not). Not recorded in any
 * graph; bumps dst's storage version, so a backward pass that saved dst before refuses to run.
 */
export function copyInto(dst: Tensor, src: Tensor): void {
  if (dst.size !== src.size) throw new Error(`copyInto: sizes differ: ${shapeString(dst.shape)} ← ${shapeString(src.shape)}`);
  dst.markWritten();
  if (!dst.size) return;
  const from = src.isContiguous ? src : contiguousCopy(src);
  dst.engine.copy(from.buffer, dst.buffer, dst.size * 4);
  if (from !== src) from.dispose();
}
