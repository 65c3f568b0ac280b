// BatchNorm2d kernels over NCHW. Both modes produce a `saved` record [mean | invstd | gamma·invstd] (shape
// [3, C]) that the apply kernel and the backward kernels read; training also updates the running stats in place.
import { Params, grid1d } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';

interface Layout {
  n: number;
  c: number;
  /** Elements per (n, c) plane. */
  hw: number;
  vec4: boolean;
  /** Plane length in shader elements (vec4s when vec4). */
  hwT: number;
  /** Invocations per row in the per-channel reductions: a power of two, at most the workgroup's 64. */
  lanes: number;
}

const REDUCE_WG = 64;

function layout(x: Tensor): Layout {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const vec4 = hw % 4 === 0;
  const hwT = vec4 ? hw / 4 : hw;
  let lanes = 1;
  while (lanes < hwT && lanes < REDUCE_WG) lanes *= 2;
  return { n, c, hw, vec4, hwT, lanes };
}

/** Batch statistics of x (training): returns `saved` and updates runningMean/runningVar in place. */
export function batchNormStatsKernel(x: Tensor, gamma: Tensor, runningMean: Tensor, runningVar: Tensor, momentum: number, eps: number): Tensor {
  const l = layout(x);
  const count = l.n * l.hw;
  const saved = Tensor.empty(x.engine, [3, l.c]);
  x.engine.run({
    shader: 'batchnorm_stats', defines: { VEC4: l.vec4 },
    uniforms: new Params().u32(l.n, l.c, l.hwT, l.lanes).f32(count, eps, momentum, count / (count - 1)).buffer,
    buffers: [x.buffer, gamma.buffer, saved.buffer, runningMean.buffer, runningVar.buffer], workgroups: [l.c],
  });
  return saved;
}

/** `saved` from the running statistics (eval mode). */
export function batchNormRunningKernel(gamma: Tensor, runningMean: Tensor, runningVar: Tensor, eps: number): Tensor {
  const c = gamma.size;
  const saved = Tensor.empty(gamma.engine, [3, c]);
  gamma.engine.run({
    shader: 'batchnorm_running', uniforms: new Params().u32(c).f32(eps).buffer,
    buffers: [gamma.buffer, runningMean.buffer, runningVar.buffer, saved.buffer], workgroups: grid1d(c, 64),
  });
  return saved;
}

/** Defines, uniforms and grid of the elementwise kernels (batchnorm_apply, batchnorm_grad_apply). */
function elementwiseCall(l: Layout) {
  const total = l.n * l.c * l.hw;
  const packed = !l.vec4 && total % 4 === 0 && l.hw >= 4;
  const count = l.vec4 || packed ? total / 4 : total;
  return {
    defines: { VEC4: l.vec4 || packed, PACKED: packed },
    uniforms: new Params().u32(count, l.c, packed ? l.hw : l.hwT).buffer,
    workgroups: grid1d(count, 256),
  };
}

export function batchNormApplyKernel(x: Tensor, saved: Tensor, beta: Tensor): Tensor {
  const y = Tensor.empty(x.engine, x.shape);
  x.engine.run({ shader: 'batchnorm_apply', ...elementwiseCall(layout(x)), buffers: [x.buffer, saved.buffer, beta.buffer, y.buffer] });
  return y;
}

export interface BatchNormGrads {
  dx: Tensor | null;
  dgamma: Tensor;
  dbeta: Tensor;
}

/**
 * Gradients of batchnorm given dy. `training` selects the batch-statistics formula (mean and variance depend
 * on x) over the eval one (constants). dx is computed only when `needDx`.
 */
export function batchNormBackwardKernel(x: Tensor, dy: Tensor, saved: Tensor, training: boolean, needDx: boolean): BatchNormGrads {
  const l = layout(x);
  const engine = x.engine;
  const dgamma = Tensor.empty(engine, [l.c]);
  const dbeta = Tensor.empty(engine, [l.c]);
  const coef = Tensor.empty(engine, [3, l.c]);
  engine.run({
    shader: 'batchnorm_grad_stats', defines: { VEC4: l.vec4, TRAIN: training },
    uniforms: new Params().u32(l.n, l.c, l.hwT, l.lanes).f32(l.n * l.hw).buffer,
    buffers: [x.buffer, dy.buffer, saved.buffer, dgamma.buffer, dbeta.buffer, coef.buffer], workgroups: [l.c],
  });
  let dx: Tensor | null = null;
  if (needDx) {
    dx = Tensor.empty(engine, x.shape);
    engine.run({ shader: 'batchnorm_grad_apply', ...elementwiseCall(l), buffers: [x.buffer, dy.buffer, saved.buffer, coef.buffer, dx.buffer] });
  }
  coef.dispose();
  return { dx, dgamma, dbeta };
}
