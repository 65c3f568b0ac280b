// Loss functions.
import { record } from '../graph.js';
import { Tensor, shapeString } from '../tensor.js';
import type { DeviceArray } from '../../runtime/storage.js';
import { bceWithLogitsKernel } from '../../kernels/bce.js';
import { binaryKernel, unaryKernel } from '../../kernels/elementwise.js';
import { softmaxCrossEntropyKernel } from '../../kernels/cross-entropy.js';

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
  const result = bceWithLogitsKernel(logits, target);
  const loss = Tensor.adopt(result.loss);
  // dℓ/dlogits (the kernel computes it with the loss), saved for the backward
  const grad = result.grad;
  if (target instanceof Tensor) {
    record(loss, 'bceWithLogits', [logits, target], (g, s) => [
      logits.requiresGrad ? Tensor.adopt(binaryKernel('mul', s.grad, g)) : null,
      s.logits ? targetGrad(s.logits, g) : null,
    ], { grad, logits: target.requiresGrad ? logits : null });
  } else {
    record(loss, 'bceWithLogits', [logits], (g, s) => [Tensor.adopt(binaryKernel('mul', s.grad, g))], { grad });
  }
  grad.dispose();
  return loss;
}

/** dℓ/dt = −x/count, scaled by the incoming gradient (rarely wanted: targets are usually labels). */
function targetGrad(logits: DeviceArray, g: Tensor): Tensor {
  const scaled = unaryKernel('mulScalar', logits, -1 / logits.size);
  const out = Tensor.adopt(binaryKernel('mul', scaled, g));
  scaled.dispose();
  return out;
}

/**
 * Mean over rows of the cross-entropy between softmax(logits) and `targets`, both [rows, classes]; targets are
 * probabilities per row (one-hot labels or soft ones). Stable at any logit magnitude. Targets get no gradient.
 * Returns shape [1].
 */
export function softmaxCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  if (logits.rank !== 2 || logits.size === 0) throw new Error(`softmaxCrossEntropy: logits must be a non-empty [rows, classes] matrix, got ${shapeString(logits.shape)}`);
  if (targets.rank !== 2 || targets.shape[0] !== logits.shape[0] || targets.shape[1] !== logits.shape[1]) {
    throw new Error(`softmaxCrossEntropy: targets shape ${shapeString(targets.shape)} does not match logits ${shapeString(logits.shape)}`);
  }
  const result = softmaxCrossEntropyKernel(logits, targets);
  const loss = Tensor.adopt(result.loss);
  record(loss, 'softmaxCrossEntropy', [logits], (g, s) => [Tensor.adopt(binaryKernel('mul', s.grad, g))], { grad: result.grad });
  result.grad.dispose();
  return loss;
}
