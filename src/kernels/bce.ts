// Fused binary cross-entropy with logits: the mean loss and dloss/dlogits from one dispatch.
import { Params } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';

export interface BceResult {
  /** Mean loss, shape [1]. */
  loss: DeviceArray;
  /** d(loss)/d(logits) = (σ(x) − t)/count, logits' shape. */
  grad: DeviceArray;
}

/** `target` is a tensor of the logits' shape or one number for every element (shapes checked by the caller). */
export function bceWithLogitsKernel(logits: DeviceArray, target: DeviceArray | number): BceResult {
  const engine = logits.engine;
  const loss = DeviceArray.empty(engine, [1]);
  const grad = DeviceArray.empty(engine, logits.shape);
  const vec4 = logits.size % 4 === 0;
  const n = vec4 ? logits.size / 4 : logits.size;
  const isTensor = typeof target !== 'number';
  engine.run({
    shader: 'bce_logits', defines: { VEC4: vec4, TARGET_TENSOR: isTensor },
    uniforms: new Params().u32(n).f32(1 / logits.size, isTensor ? 0 : target).buffer,
    buffers: isTensor ? [logits, loss, grad, target] : [logits, loss, grad],
    workgroups: [1],
  });
  return { loss, grad };
}
