// Fused softmax cross-entropy: the mean loss and dloss/dlogits from one dispatch.
import { Params } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';

export interface CrossEntropyResult {
  /** Mean loss over the rows, shape [1]. */
  loss: DeviceArray;
  /** d(loss)/d(logits) = (Σt·softmax(x) − t)/rows, logits' shape. */
  grad: DeviceArray;
}

/** logits and targets are [rows, classes] (shapes checked by the caller). */
export function softmaxCrossEntropyKernel(logits: DeviceArray, targets: DeviceArray): CrossEntropyResult {
  const engine = logits.engine;
  const [rows, classes] = logits.shape;
  const loss = DeviceArray.empty(engine, [1]);
  const grad = DeviceArray.empty(engine, logits.shape);
  engine.run({
    shader: 'softmax_cross_entropy',
    uniforms: new Params().u32(rows, classes).f32(1 / rows).buffer,
    buffers: [logits, targets, loss, grad],
    workgroups: [1],
  });
  return { loss, grad };
}
