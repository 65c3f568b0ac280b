// Reverse-mode autograd in the micrograd manner: every op records its inputs and a backward closure;
// backward() orders the graph topologically (iteratively, so deep graphs cannot overflow the stack) and
// walks it in reverse, summing the gradients that reach each tensor.
import type { Engine } from './engine.js';
import { Tensor, shapeString, type BackwardFn } from './tensor.js';
import { add } from './ops/elementwise.js';
import { fill } from './ops/create.js';

/** Links `out` into the graph when gradients are on and some input needs one. Returns `out`. */
export function record(out: Tensor, op: string, inputs: Tensor[], backward: BackwardFn): Tensor {
  out.op = op;
  if (out.engine.gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.parents = inputs;
    out.backwardFn = backward;
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

/**
 * Accumulates d(root)/d(leaf) into `leaf.grad` for every leaf that requires a gradient. `grad` defaults to
 * ones (a scalar loss). Leaf gradients are kept outside any tidy() scope, like parameters: zero them (or let
 * the optimizer do it) between steps. Intermediate gradients belong to the enclosing scope.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward(): ${root} does not require a gradient`);
  if (grad && grad.size !== root.size) {
    throw new Error(`backward(): gradient shape ${shapeString(grad.shape)} does not match ${shapeString(root.shape)}`);
  }
  const engine = root.engine;
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad ?? fill(engine, root.shape, 1));
  const claimedByLeaf = new Set<Tensor>();
  const order = topologicalOrder(root);
  withGrad(engine, false, () => {
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const g = grads.get(node);
      if (!g) continue;
      if (!node.backwardFn) {
        accumulateLeaf(node, g, claimedByLeaf);
        continue;
      }
      const inputGrads = node.backwardFn(g);
      node.parents.forEach((parent, j) => {
        const pg = inputGrads[j];
        if (!pg || !parent.requiresGrad) return;
        if (pg.size !== parent.size) {
          throw new Error(`backward of ${node.op}: gradient ${shapeString(pg.shape)} for input ${shapeString(parent.shape)}`);
        }
        const prev = grads.get(parent);
        grads.set(parent, prev ? add(prev, pg) : pg);
      });
    }
  });
}

function accumulateLeaf(leaf: Tensor, g: Tensor, claimed: Set<Tensor>): void {
  if (leaf.grad) {
    const sum = add(leaf.grad, g);
    leaf.grad.dispose();
    leaf.grad = keep(sum);
  } else if (claimed.has(g)) {
    leaf.grad = keep(add(g, fill(leaf.engine, g.shape, 0)));
  } else {
    claimed.add(g);
    leaf.grad = keep(g);
  }
}

export function withGrad<T>(engine: Engine, enabled: boolean, fn: () => T): T {
  const before = engine.gradEnabled;
  engine.gradEnabled = enabled;
  try {
    return fn();
  } finally {
    engine.gradEnabled = before;
  }
}

/** Runs fn without recording a graph (inference, optimizer updates). */
export function noGrad<T>(engine: Engine, fn: () => T): T {
  return withGrad(engine, false, fn);
}

/** A view of t's values with no history: gradients stop here. */
export function detach(t: Tensor): Tensor {
  const out = new Tensor(t.engine, t.shape, t.storage.retain());
  out.op = 'detach';
  return out;
}

/** Removes t from every tidy() scope so it outlives them; dispose it yourself. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of t.engine.scopes) scope.delete(t);
  return t;
}

/**
 * Runs fn and disposes every tensor created inside it except those it returns (a tensor, or tensors inside an
 * array or plain object), which move to the enclosing scope. Like tfjs's tidy; async functions are supported.
 */
export function tidy<T>(engine: Engine, fn: () => T): T {
  const scope = new Set<Tensor>();
  engine.scopes.push(scope);
  let popped = false;
  const close = (result: unknown) => {
    if (popped) return;
    popped = true;
    const index = engine.scopes.lastIndexOf(scope);
    if (index >= 0) engine.scopes.splice(index, 1);
    const kept = new Set<Tensor>();
    collectTensors(result, kept);
    for (const t of scope) if (!kept.has(t)) t.dispose();
    const parent = engine.scopes[engine.scopes.length - 1];
    if (parent) for (const t of kept) if (!t.isDisposed) parent.add(t);
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

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
}
