// Reverse-mode autograd in the micrograd manner: every op records its inputs, the arrays its backward reads
// and a backward closure (graph.ts); backward() orders the graph topologically (iteratively, so deep graphs
// cannot overflow the stack) and walks it in reverse, summing the gradients that reach each tensor. Memory is
// given back as the walk goes: a node's saved arrays once its backward ran, a gradient once it was passed on.
import { Tensor, shapeString } from './tensor.js';
import { contiguousCopy } from '../runtime/contiguous.js';
import { add } from './ops/elementwise.js';
import { fill } from './ops/create.js';
import { expand } from './ops/reduce.js';
import { keep, owned, savedFor, topologicalOrder, withGrad } from './graph.js';

export { record, topologicalOrder, withGrad, noGrad, detach, keep, tidy } from './graph.js';

/**
 * Accumulates d(root)/d(leaf) into `leaf.grad` for every leaf that requires a gradient. `grad` defaults to
 * ones (a scalar loss; a larger root gets one 1 expanded to its shape). Leaf gradients are contiguous and kept
 * outside any tidy() scope, like parameters: zero them (or let the optimizer do it) between steps.
 *
 * Each node's saved arrays are released as soon as its backward ran, so a second backward() through the same
 * graph throws (run the forward again), as does one whose saved arrays were written in place since the forward
 * pass (an optimizer step, a moving average, copyInto). Both are checked over the whole graph before anything
 * runs. Intermediate gradients are disposed as soon as they have been passed on.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward(): ${root} does not require a gradient`);
  if (grad && grad.size !== root.size) {
    throw new Error(`backward(): gradient shape ${shapeString(grad.shape)} does not match ${shapeString(root.shape)}`);
  }
  const engine = root.engine;
  const order = topologicalOrder(root);
  for (let i = order.length - 1; i >= 0; i--) if (order[i].backwardFn) savedFor(order[i]);
  withGrad(engine, false, () => {
    const grads = new Map<Tensor, Tensor>();
    // How many grads entries hold each gradient tensor; one no entry holds any more is disposed, unless it is the
    // caller's `grad` or became a leaf's .grad.
    const holds = new Map<Tensor, number>();
    const claimedByLeaf = new Set<Tensor>();
    const hold = (t: Tensor) => holds.set(t, (holds.get(t) ?? 0) + 1);
    const disposable = (t: Tensor) => !holds.has(t) && t !== grad && !claimedByLeaf.has(t);
    const drop = (t: Tensor) => {
      const n = (holds.get(t) ?? 1) - 1;
      if (n > 0) holds.set(t, n);
      else holds.delete(t);
      if (disposable(t)) t.dispose();
    };
    const seed = grad ?? owned(engine, () => seedOf(root));
    grads.set(root, seed);
    hold(seed);
    try {
      for (let i = order.length - 1; i >= 0; i--) {
        const node = order[i];
        const g = grads.get(node);
        if (!g) continue;
        grads.delete(node);
        if (!node.backwardFn) {
          accumulateLeaf(node, g, claimedByLeaf);
          drop(g);
          continue;
        }
        const backwardFn = node.backwardFn;
        const inputGrads = owned(engine, () => backwardFn(g));
        node.releaseSaved();
        node.parents.forEach((parent, j) => {
          const pg = inputGrads[j];
          if (!pg || !parent.requiresGrad) return;
          if (pg.size !== parent.size) {
            throw new Error(`backward of ${node.op}: gradient ${shapeString(pg.shape)} for input ${shapeString(parent.shape)}`);
          }
          const prev = grads.get(parent);
          const next = prev ? owned(engine, () => add(prev, pg)) : pg;
          grads.set(parent, next);
          hold(next);
          if (prev) drop(prev);
        });
        for (const pg of inputGrads) if (pg && pg !== g && disposable(pg)) pg.dispose();
        drop(g);
      }
    } catch (error) {
      // the gradients still in flight belong to nobody else
      for (const t of holds.keys()) if (t !== grad && !claimedByLeaf.has(t)) t.dispose();
      throw error;
    }
  });
}

/** Ones of root's shape: one element, expanded when the root has more. */
function seedOf(root: Tensor): Tensor {
  if (root.size === 1) return fill(root.engine, root.shape, 1);
  return expand(fill(root.engine, [1], 1), root.shape);
}

function accumulateLeaf(leaf: Tensor, g: Tensor, claimed: Set<Tensor>): void {
  if (leaf.grad) {
    const sum = add(leaf.grad, g);
    leaf.grad.dispose();
    leaf.grad = keep(sum);
  } else if (claimed.has(g) || !g.isContiguous) {
    leaf.grad = keep(Tensor.adopt(contiguousCopy(g)));
  } else {
    claimed.add(g);
    leaf.grad = keep(g);
  }
}
