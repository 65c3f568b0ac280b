// Fused softmax cross-entropy: the mean loss and dloss/dlogits from one dispatch.
import { Params } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';

export interface CrossEntropyResult {
  /** Mean loss over the rows, shape [1]. */
  loss: Tensor;
  /** d(loss)/d(logits) = (Σt·softmax(x) − t)/rows, logits' shape. */
  grad: Tensor;
}

/** logits and targets are [rows, classes] (shapes checked by the caller). */
export function softmaxCrossEntropyKernel(logits: Tensor, targets: Tensor): CrossEntropyResult {
  const engine = logits.engine;
  const [rows, classes] = logits.shape;
  const loss = Tensor.empty(engine, [1]);
  const grad = Tensor.empty(engine, logits.shape);
  engine.run({
    shader: 'softmax_cross_entropy',
    uniforms: new Params().u32(rows, classes).f32(1 / rows).buffer,
    buffers: [logits.buffer, targets.buffer, loss.buffer, grad.buffer],
    workgroups: [1],
  });
  return { loss, grad };
}
