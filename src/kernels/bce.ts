// Fused binary cross-entropy with logits: the mean loss and dloss/dlogits from one dispatch.
import { Params } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';

export interface BceResult {
  /** Mean loss, shape [1]. */
  loss: Tensor;
  /** d(loss)/d(logits) = (σ(x) − t)/count, logits' shape. */
  grad: Tensor;
}

/** `target` is a tensor of the logits' shape or one number for every element (shapes checked by the caller). */
export function bceWithLogitsKernel(logits: Tensor, target: Tensor | number): BceResult {
  const engine = logits.engine;
  const loss = Tensor.empty(engine, [1]);
  const grad = Tensor.empty(engine, logits.shape);
  const vec4 = logits.size % 4 === 0;
  const n = vec4 ? logits.size / 4 : logits.size;
  const isTensor = target instanceof Tensor;
  engine.run({
    shader: 'bce_logits', defines: { VEC4: vec4, TARGET_TENSOR: isTensor },
    uniforms: new Params().u32(n).f32(1 / logits.size, isTensor ? 0 : target).buffer,
    buffers: isTensor ? [logits.buffer, loss.buffer, grad.buffer, target.buffer] : [logits.buffer, loss.buffer, grad.buffer],
    workgroups: [1],
  });
  return { loss, grad };
}
