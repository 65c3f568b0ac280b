// The graph side of autograd: how ops record themselves (record), grad mode, detach, and tidy() scopes that
// dispose intermediates. backward() itself lives in autograd.ts, which needs the ops this file must not import.
import type { Engine } from '../runtime/engine.js';
import { autogradState } from './state.js';
import { shapeString } from '../runtime/shape.js';
import { DeviceArray } from '../runtime/storage.js';
import { Tensor, type Saved, type SavedInputs } from './tensor.js';

/**
 * Links `out` into the graph when gradients are on and some input needs one. Returns `out`.
 *
 * `saved` names every array the backward reads (inputs, the output, intermediates such as a conv's unfolded
 * input): the node retains each one's storage, with its version, and hands the backward the same names. So
 * the backward reads nothing else, and the arrays live exactly while the node can still be differentiated:
 * backward() releases them as it passes the node, dispose() when the node goes first. An op's own
 * intermediate is handed over the same way; the op then disposes its header (the node's reference keeps it).
 * backward() refuses to run a node whose saved arrays were written in place since (Storage.version).
 */
export function record<S extends SavedInputs>(
  out: Tensor, op: string, inputs: Tensor[], backward: (grad: Tensor, saved: Saved<S>) => (Tensor | null)[], saved?: S,
): Tensor {
  out.op = op;
  if (autogradState(out.engine).gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.parents = inputs;
    out.backwardFn = (grad) => backward(grad, savedFor(out) as Saved<S>);
    out.saved = Object.entries(saved ?? {}).flatMap(([name, a]) => {
      if (!a) return [];
      if (a.isDisposed) throw new Error(`${op}: saves ${name} ${shapeString(a.shape)}, which was disposed`);
      const handle = new DeviceArray(a.engine, a.shape, a.storage.retain(), a.strides);
      return [{ name, handle, version: a.storage.version }];
    });
  }
  return out;
}

/**
 * The saved arrays of a node about to be differentiated, by name. Throws if backward() already passed it (its
 * arrays are gone), or if one of them was written in place after the forward pass (as PyTorch's _version check).
 */
export function savedFor(node: Tensor): Saved<SavedInputs> {
  if (node.savedState === 'released') {
    throw new Error(`backward(): trying to backward through ${node.op} ${shapeString(node.shape)} a second time (or after it ` +
      `was disposed): its saved tensors were freed when the first backward() passed it. Run the forward pass again.`);
  }
  const out: Record<string, DeviceArray> = {};
  for (const { name, handle, version } of node.saved) {
    const now = handle.storage.version;
    if (now !== version) {
      throw new Error(`backward(): one of the variables needed for gradient computation has been modified by an inplace ` +
        `operation: ${node.op}'s ${name} ${shapeString(handle.shape)} is at version ${now}; expected version ${version}. ` +
        `Do the in-place update (optimizer step, moving average, copyInto) after backward(), or give the forward a copy.`);
    }
    out[name] = handle;
  }
  return out;
}

export function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (next < node.parents.length) {
      top[1]++;
      const parent = node.parents[next];
      if (parent.requiresGrad && !visited.has(parent)) {
        visited.add(parent);
        stack.push([parent, 0]);
      }
    } else {
      order.push(node);
      stack.pop();
    }
  }
  return order;
}

export function withGrad<T>(engine: Engine, enabled: boolean, fn: () => T): T {
  const state = autogradState(engine);
  const before = state.gradEnabled;
  state.gradEnabled = enabled;
  try {
    return fn();
  } finally {
    state.gradEnabled = before;
  }
}

/** Runs fn without recording a graph (inference, optimizer updates). */
export function noGrad<T>(engine: Engine, fn: () => T): T {
  return withGrad(engine, false, fn);
}

/** A view of t's values with no history: gradients stop here. */
export function detach(t: Tensor): Tensor {
  const out = new Tensor(t.engine, t.shape, t.storage.retain(), t.strides);
  out.op = 'detach';
  return out;
}

/**
 * Removes t from every tidy() scope so it outlives them all, the enclosing ones too (even when a tidy returns
 * it); dispose it yourself.
 */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of autogradState(t.engine).scopes) scope.delete(t);
  t.kept = true;
  return t;
}

/**
 * Runs fn and disposes every tensor created inside it except those it returns (a tensor, or tensors inside an
 * array or plain object), which move to the enclosing scope. Like tfjs's tidy; async functions are supported.
 */
export function tidy<T>(engine: Engine, fn: () => T): T {
  const scopes = autogradState(engine).scopes;
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let popped = false;
  const close = (result: unknown) => {
    if (popped) return;
    popped = true;
    const index = scopes.lastIndexOf(scope);
    if (index >= 0) scopes.splice(index, 1);
    const kept = new Set<Tensor>();
    collectTensors(result, kept);
    for (const t of scope) if (!kept.has(t)) t.dispose();
    const parent = scopes[scopes.length - 1];
    if (parent) for (const t of kept) if (!t.isDisposed && !t.kept) parent.add(t);
  };
  try {
    const result = fn();
    if (result instanceof Promise) {
      return result.then(
        (value) => (close(value), value),
        (error) => {
          close(undefined);
          throw error;
        },
      ) as T;
    }
    close(result);
    return result;
  } catch (error) {
    close(undefined);
    throw error;
  }
}

/**
 * Runs a synchronous fn and disposes every tensor created inside it except those it returns, which then belong
 * to no scope: the caller owns them (backward() runs each node's backward this way).
 */
export function owned<T>(engine: Engine, fn: () => T): T {
  const scopes = autogradState(engine).scopes;
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    scopes.splice(scopes.lastIndexOf(scope), 1);
    const returned = new Set<Tensor>();
    collectTensors(result, returned);
    for (const t of scope) if (!returned.has(t)) t.dispose();
  }
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
}
