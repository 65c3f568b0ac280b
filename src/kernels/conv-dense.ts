// A conv whose kernel covers its whole unpadded input has a 1×1 output: it is a dense layer, and NCHW storage
// is already the matrix each product needs — x as [N, K = Cin·kH·kW], y as [N, Cout] — so forward and both
// gradients are single matmuls with no unfolding or layout swaps (the DCGAN's D3 and, transposed, its G1): plan
// 'dense' (conv-plan.ts). `label` is the plan's label, for the matmul's dispatch.
import type { DeviceArray } from '../runtime/storage.js';
import { matmulKernel } from './matmul.js';
import { binaryKernel } from './elementwise.js';
import { viewAs } from './conv-fast.js';
import type { ConvGeometry } from './conv-geometry.js';

const kSize = (g: ConvGeometry) => g.cin * g.kh * g.kw;

/** Runs f on views of the given tensors with the given shapes, disposing the views after. */
function withViews<T>(views: [DeviceArray, number[]][], f: (...v: DeviceArray[]) => T): T {
  const vs = views.map(([t, shape]) => viewAs(t, shape));
  try {
    return f(...vs);
  } finally {
    for (const v of vs) v.dispose();
  }
}

/** Adds bias[c] to t viewed as [rows, C, per]; returns a new tensor of t's shape, or t itself without bias. */
function addChannelBias(t: DeviceArray, bias: DeviceArray | null, rows: number, channels: number, per: number, shape: number[]): DeviceArray {
  if (!bias) return viewAs(t, shape);
  return withViews([[t, [rows, channels, per]], [bias, [channels, 1]]], (tv, bv) => {
    const sum = binaryKernel('add', tv, bv);
    const out = viewAs(sum, shape);
    sum.dispose();
    return out;
  });
}

/** y [N, Cout, 1, 1] = x [N, K] · w [Cout, K]ᵀ (+ bias). */
export function denseForward(x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, label?: string): DeviceArray {
  const y = withViews([[x, [g.n, kSize(g)]], [w, [g.cout, kSize(g)]]], (xv, wv) => matmulKernel(xv, wv, { transposeB: true, label }));
  const out = addChannelBias(y, bias, g.n, g.cout, 1, [g.n, g.cout, 1, 1]);
  y.dispose();
  return out;
}

/** dx [N, Cin, H, W] = dy [N, Cout] · w [Cout, K] (+ bias[ci], for conv-transpose). */
export function denseGradInput(dy: DeviceArray, w: DeviceArray, bias: DeviceArray | null, g: ConvGeometry, label?: string): DeviceArray {
  const dx = withViews([[dy, [g.n, g.cout]], [w, [g.cout, kSize(g)]]], (dyv, wv) => matmulKernel(dyv, wv, { label }));
  const out = addChannelBias(dx, bias, g.n, g.cin, g.kh * g.kw, [g.n, g.cin, g.h, g.w]);
  dx.dispose();
  return out;
}

/** dw [Cout, Cin, kH, kW] = dy [N, Cout]ᵀ · x [N, K]. */
export function denseGradWeight(x: DeviceArray, dy: DeviceArray, g: ConvGeometry, label?: string): DeviceArray {
  const dw = withViews([[dy, [g.n, g.cout]], [x, [g.n, kSize(g)]]], (dyv, xv) => matmulKernel(dyv, xv, { transposeA: true, label }));
  const out = viewAs(dw, [g.cout, g.cin, g.kh, g.kw]);
  dw.dispose();
  return out;
}
