// Reverse-mode autograd in the micrograd manner: every op records its inputs and a backward closure (graph.ts);
// backward() orders the graph topologically (iteratively, so deep graphs cannot overflow the stack) and
// walks it in reverse, summing the gradients that reach each tensor.
import { Tensor, shapeString } from './tensor.js';
import { add } from './ops/elementwise.js';
import { fill } from './ops/create.js';
import { keep, topologicalOrder, withGrad } from './graph.js';

export { record, topologicalOrder, withGrad, noGrad, detach, keep, tidy } from './graph.js';

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

