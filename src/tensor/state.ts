// The autograd layer's per-engine state — open tidy() scopes, grad mode and the RNG stream — kept here rather
// than on the runtime's Engine, which knows nothing of tensors.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from './tensor.js';
import type { RandomKey } from './ops/create.js';

interface AutogradState {
  /** Scopes opened by tidy(); each collects the tensors created inside it. */
  scopes: Set<Tensor>[];
  gradEnabled: boolean;
  /** Counter-based RNG stream: a random op draws with (seed, counter), then counter advances. */
  rng: { seed: number; counter: number };
}

const states = new WeakMap<Engine, AutogradState>();

export function autogradState(engine: Engine): AutogradState {
  let state = states.get(engine);
  if (!state) {
    state = { scopes: [], gradEnabled: true, rng: { seed: 0, counter: 0 } };
    states.set(engine, state);
  }
  return state;
}

/** Whether ops on this engine record a graph now (false inside noGrad()). */
export function isGradEnabled(engine: Engine): boolean {
  return autogradState(engine).gradEnabled;
}

/** The engine's RNG stream position, as a copy: the key its next random op will use. */
export function rngState(engine: Engine): RandomKey {
  const { seed, counter } = autogradState(engine).rng;
  return { seed, counter };
}

/** Moves the engine's RNG stream to `key` (a checkpoint's saved stream, or a fresh seed with counter 0). */
export function setRngState(engine: Engine, key: RandomKey): void {
  autogradState(engine).rng = { seed: key.seed, counter: key.counter };
}

/** The key for one random op from the engine's stream, which then advances. */
export function nextRandomKey(engine: Engine): RandomKey {
  const rng = autogradState(engine).rng;
  return { seed: rng.seed, counter: rng.counter++ };
}
