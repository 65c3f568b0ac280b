// BatchNorm2d kernels over NCHW. Both modes produce a `saved` record [mean | invstd | gamma·invstd] (shape
// [3, C]) that the apply kernel and the backward kernels read; training also updates the running stats in place.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';

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

function layout(x: DeviceArray): Layout {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const vec4 = hw % 4 === 0;
  const hwT = vec4 ? hw / 4 : hw;
  let lanes = 1;
  while (lanes < hwT && lanes < REDUCE_WG) lanes *= 2;
  return { n, c, hw, vec4, hwT, lanes };
}

/** Batch statistics of x (training): returns `saved` and updates runningMean/runningVar in place. */
export function batchNormStatsKernel(x: DeviceArray, gamma: DeviceArray, runningMean: DeviceArray, runningVar: DeviceArray, momentum: number, eps: number): DeviceArray {
  const l = layout(x);
  const count = l.n * l.hw;
  const saved = DeviceArray.empty(x.engine, [3, l.c]);
  x.engine.run({
    shader: 'batchnorm_stats', defines: { VEC4: l.vec4 },
    uniforms: new Params().u32(l.n, l.c, l.hwT, l.lanes).f32(count, eps, momentum, count / (count - 1)).buffer,
    buffers: [x, gamma, saved, runningMean, runningVar], inPlace: [runningMean, runningVar], workgroups: [l.c],
  });
  return saved;
}

/** `saved` from the running statistics (eval mode). */
export function batchNormRunningKernel(gamma: DeviceArray, runningMean: DeviceArray, runningVar: DeviceArray, eps: number): DeviceArray {
  const c = gamma.size;
  const saved = DeviceArray.empty(gamma.engine, [3, c]);
  gamma.engine.run({
    shader: 'batchnorm_running', uniforms: new Params().u32(c).f32(eps).buffer,
    buffers: [gamma, runningMean, runningVar, saved], workgroups: grid1d(c, 64),
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

export function batchNormApplyKernel(x: DeviceArray, saved: DeviceArray, beta: DeviceArray): DeviceArray {
  const y = DeviceArray.empty(x.engine, x.shape);
  x.engine.run({ shader: 'batchnorm_apply', ...elementwiseCall(layout(x)), buffers: [x, saved, beta, y] });
  return y;
}

export interface BatchNormGrads {
  dx: DeviceArray | null;
  dgamma: DeviceArray;
  dbeta: DeviceArray;
}

/**
 * Gradients of batchnorm given dy. `training` selects the batch-statistics formula (mean and variance depend
 * on x) over the eval one (constants). dx is computed only when `needDx`.
 */
export function batchNormBackwardKernel(x: DeviceArray, dy: DeviceArray, saved: DeviceArray, training: boolean, needDx: boolean): BatchNormGrads {
  const l = layout(x);
  const engine = x.engine;
  const dgamma = DeviceArray.empty(engine, [l.c]);
  const dbeta = DeviceArray.empty(engine, [l.c]);
  const coef = DeviceArray.empty(engine, [3, l.c]);
  engine.run({
    shader: 'batchnorm_grad_stats', defines: { VEC4: l.vec4, TRAIN: training },
    uniforms: new Params().u32(l.n, l.c, l.hwT, l.lanes).f32(l.n * l.hw).buffer,
    buffers: [x, dy, saved, dgamma, dbeta, coef], workgroups: [l.c],
  });
  let dx: DeviceArray | null = null;
  if (needDx) {
    dx = DeviceArray.empty(engine, x.shape);
    engine.run({ shader: 'batchnorm_grad_apply', ...elementwiseCall(l), buffers: [x, dy, saved, coef, dx] });
  }
  coef.dispose();
  return { dx, dgamma, dbeta };
}
