// Fused Adam: one dispatch updates a parameter and its two moment buffers in place.
import { Params, grid1d } from '../runtime/params.js';
import type { DeviceArray } from '../runtime/storage.js';
import { shapeString } from '../runtime/shape.js';

export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count t, for the bias corrections 1 − β^t. */
  step: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam's weight_decay. Default 0. */
  weightDecay?: number;
}

/** param, m and v are updated in place; grad is read. All four must have the same number of elements. */
export function adamKernel(param: DeviceArray, grad: DeviceArray, m: DeviceArray, v: DeviceArray, options: AdamStep): void {
  const { lr, beta1, beta2, eps, step, weightDecay = 0 } = options;
  for (const [name, t] of [['grad', grad], ['m', m], ['v', v]] as const) {
    if (t.size !== param.size) {
      throw new Error(`adam: ${name} has shape ${shapeString(t.shape)}, param has ${shapeString(param.shape)}`);
    }
  }
  if (!Number.isInteger(step) || step < 1) throw new Error(`adam: step must be an integer ≥ 1, got ${step}`);
  const stepSize = lr / (1 - beta1 ** step);
  const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** step);
  const vec4 = param.size % 4 === 0;
  const n = vec4 ? param.size / 4 : param.size;
  param.engine.run({
    shader: 'adam', defines: { VEC4: vec4 },
    uniforms: new Params().u32(n).f32(beta1, 1 - beta1, beta2, 1 - beta2, eps, stepSize, invSqrtBc2, weightDecay).buffer,
    buffers: [param, grad, m, v], inPlace: [param, m, v], workgroups: grid1d(n, 256),
  });
}
