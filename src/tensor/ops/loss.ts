// Loss functions.
import { record } from '../autograd.js';
import { Tensor, shapeString } from '../tensor.js';
import { bceWithLogitsKernel } from '../../kernels/bce.js';
import { binaryKernel, unaryKernel } from '../../kernels/elementwise.js';

/**
 * Mean binary cross-entropy between sigmoid(logits) and `target`, computed from the logits (stable at any
 * magnitude). `target` is a tensor of the logits' shape or one number for all elements (e.g. 0.9 for label
 * smoothing). Returns shape [1].
 */
export function bceWithLogits(logits: Tensor, target: Tensor | number): Tensor {
  if (target instanceof Tensor && (target.rank !== logits.rank || target.shape.some((d, i) => d !== logits.shape[i]))) {
    throw new Error(`bceWithLogits: target shape ${shapeString(target.shape)} does not match logits ${shapeString(logits.shape)}`);
  }
  if (logits.size === 0) throw new Error(`bceWithLogits: logits ${shapeString(logits.shape)} are empty`);
  const { loss, grad } = bceWithLogitsKernel(logits, target);
  if (target instanceof Tensor) {
    record(loss, 'bceWithLogits', [logits, target], (g) => [
      logits.requiresGrad ? binaryKernel('mul', grad, g) : null,
      target.requiresGrad ? targetGrad(logits, g) : null,
    ]);
  } else {
    record(loss, 'bceWithLogits', [logits], (g) => [binaryKernel('mul', grad, g)]);
  }
  if (!loss.requiresGrad) grad.dispose();
  return loss;
}

/** dℓ/dt = −x/count, scaled by the incoming gradient (rarely wanted: targets are usually labels). */
function targetGrad(logits: Tensor, g: Tensor): Tensor {
  const scaled = unaryKernel('mulScalar', logits, -1 / logits.size);
  const out = binaryKernel('mul', scaled, g);
  scaled.dispose();
  return out;
}
