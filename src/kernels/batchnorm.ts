// BatchNorm2d kernels over NCHW. Both modes produce a `saved` record [mean | invstd | gamma·invstd] (shape
// [3, C]) that the apply kernel and the backward kernels read; training also updates the running stats in place.
// With a per-image affine (gamma and beta rows [N, C], as conditional batchnorm's; `gamma` null in the
// statistics kernels) the record's last row is invstd and the kernels run with ROWS.
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

/**
 * Batch statistics of x (training): returns `saved` and updates runningMean/runningVar in place. `gamma` [C],
 * or null for a per-image affine.
 */
export function batchNormStatsKernel(x: DeviceArray, gamma: DeviceArray | null, runningMean: DeviceArray, runningVar: DeviceArray, momentum: number, eps: number): DeviceArray {
  const l = layout(x);
  const count = l.n * l.hw;
  const saved = DeviceArray.empty(x.engine, [3, l.c]);
  x.engine.run({
    shader: 'batchnorm_stats', defines: { VEC4: l.vec4, ROWS: gamma === null },
    uniforms: new Params().u32(l.n, l.c, l.hwT, l.lanes).f32(count, eps, momentum, count / (count - 1)).buffer,
    buffers: [x, saved, runningMean, runningVar, ...(gamma ? [gamma] : [])], inPlace: [runningMean, runningVar], workgroups: [l.c],
  });
  return saved;
}

/** `saved` from the running statistics (eval mode). `gamma` [C], or null for a per-image affine. */
export function batchNormRunningKernel(gamma: DeviceArray | null, runningMean: DeviceArray, runningVar: DeviceArray, eps: number): DeviceArray {
  const c = runningMean.size;
  const saved = DeviceArray.empty(runningMean.engine, [3, c]);
  runningMean.engine.run({
    shader: 'batchnorm_running', defines: { ROWS: gamma === null }, uniforms: new Params().u32(c).f32(eps).buffer,
    buffers: [runningMean, runningVar, saved, ...(gamma ? [gamma] : [])], workgroups: grid1d(c, 64),
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

/** y from `saved`: beta [C], or with `gammaRows` the per-image rows gammaRows and beta [N, C]. */
export function batchNormApplyKernel(x: DeviceArray, saved: DeviceArray, beta: DeviceArray, gammaRows: DeviceArray | null = null): DeviceArray {
  const y = DeviceArray.empty(x.engine, x.shape);
  const call = elementwiseCall(layout(x));
  x.engine.run({
    shader: 'batchnorm_apply', ...call, defines: { ...call.defines, ROWS: gammaRows !== null },
    buffers: [x, saved, beta, y, ...(gammaRows ? [gammaRows] : [])],
  });
  return y;
}

export interface BatchNormGrads {
  dx: DeviceArray | null;
  /** [C], or [N, C] for a per-image affine. */
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

/**
 * Gradients of batchnorm with a per-image affine (gammaRows [N, C]) given dy: dgamma and dbeta are [N, C] rows.
 * Three passes: per-plane sums (the row gradients), per-channel coefficients from them, then dx when `needDx`.
 */
export function batchNormRowsBackwardKernel(x: DeviceArray, dy: DeviceArray, saved: DeviceArray, gammaRows: DeviceArray, training: boolean, needDx: boolean): BatchNormGrads {
  const l = layout(x);
  const engine = x.engine;
  const planes = l.n * l.c;
  const dgamma = DeviceArray.empty(engine, [l.n, l.c]);
  const dbeta = DeviceArray.empty(engine, [l.n, l.c]);
  engine.run({
    shader: 'batchnorm_rows_grad_stats', defines: { VEC4: l.vec4 },
    uniforms: new Params().u32(planes, l.c, l.hwT).buffer,
    buffers: [x, dy, saved, dgamma, dbeta], workgroups: grid1d(planes, 64),
  });
  let dx: DeviceArray | null = null;
  if (needDx) {
    const coef = DeviceArray.empty(engine, [3, l.c]);
    engine.run({
      shader: 'batchnorm_rows_coef', defines: { TRAIN: training },
      uniforms: new Params().u32(l.n, l.c).f32(l.n * l.hw).buffer,
      buffers: [saved, gammaRows, dgamma, dbeta, coef], workgroups: grid1d(l.c, 64),
    });
    dx = DeviceArray.empty(engine, x.shape);
    const call = elementwiseCall(l);
    engine.run({ shader: 'batchnorm_grad_apply', ...call, defines: { ...call.defines, ROWS: true }, buffers: [x, dy, saved, coef, dx, gammaRows] });
    coef.dispose();
  }
  return { dx, dgamma, dbeta };
}
