// tfjs-backend-wasm 4.22's Conv2DBackpropInput (the input gradient of conv2d, and the forward pass of
// conv2dTranspose) is a plain single-threaded C++ loop, not XNNPACK: at the DCGAN's G2/D2 geometry
// (dy [128, 7, 7, 128], filter [4, 4, 64, 128], stride 2) it runs at ~1 GFLOP/s, ~0.8 s a call, five calls a
// step — most of the peer's step time. This replaces it with the same arithmetic on the backend's own XNNPACK
// Conv2D (threaded, SIMD), so the peer is timed on its fast path rather than on one slow kernel:
//   dx[n, h, w, ci] = Σ_{oh·s + kh − p = h, ow·s + kw − p = w} dy[n, oh, ow, co] · W[kh, kw, ci, co]
// Output rows of one phase (h + p) mod s see only the taps kh ≡ phase (mod s), so for each of the s×s phases
// dx is a stride-1 convolution of dy with that phase's taps (reversed, ci/co swapped); the phases are
// interleaved by a transpose. No multiply by an inserted zero, as a zero-upsampled formulation would do.
// A 1×1 dy (a projection from a latent vector) is a matmul, run as a 1×1 convolution. Other geometries go to the shipped kernel.
import type * as Tfjs from '@tensorflow/tfjs-core';

import { wasmReplacements } from './tfjs-wasm-switch.js';

type TensorInfo = Tfjs.TensorInfo;
type Shape4 = [number, number, number, number];

const REPLACED = Symbol.for('atelier.wasmConvInputGrad');

interface Axis {
  /** output size, dy size, filter size, stride, leading padding of the forward convolution */
  size: number; dySize: number; k: number; s: number; pad: number;
}

/** One phase along one axis: its taps, where its stride-1 convolution reads dy, and its output count. */
function phase(a: Axis, ph: number, count: number): { taps: number[]; padBefore: number; padAfter: number } | null {
  const taps: number[] = [];
  for (let kh = ph; kh < a.k; kh += a.s) taps.push(kh);
  const J = taps.length;
  if (J === 0) return null;
  const first = Math.ceil((a.pad - ph) / a.s); // H' of this phase's first output row h = H'·s + ph − p ≥ 0
  const padBefore = J - 1 - first;
  const padAfter = first + count - a.dySize;
  if (padBefore < 0 || padAfter < 0 || first * a.s + ph - a.pad !== ((ph - a.pad) % a.s + a.s) % a.s) return null;
  return { taps, padBefore, padAfter };
}

export function registerWasmConvInputGrad(tf: typeof Tfjs): void {
  const shipped = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  if (!shipped || (shipped as unknown as Record<symbol, boolean>)[REPLACED]) return;
  const fallback = shipped.kernelFunc;
  tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
  const config: Tfjs.KernelConfig = {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
      const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Tfjs.Conv2DBackpropInputAttrs;
      if (!wasmReplacements.on || dataFormat !== 'NHWC') return fallback(args);
      const b = backend as Tfjs.KernelBackend;
      const kernel = (name: string, kernelInputs: Record<string, TensorInfo> | TensorInfo[], kernelAttrs: object) =>
        tf.getKernel(name, 'wasm').kernelFunc({ inputs: kernelInputs as Tfjs.NamedTensorInfoMap, backend, attrs: kernelAttrs as Tfjs.NamedAttrMap }) as TensorInfo;
      const info = tf.backend_util.computeConv2DInfo(inputShape as Shape4, filter.shape as Shape4, strides, 1, pad, dimRoundingMode);
      const [kh, kw, ci, co] = filter.shape as Shape4;
      const [n, oh, ow] = dy.shape as Shape4;
      const [, H, W] = info.inShape;
      const { top, left } = info.padInfo;
      const w = (b.readSync(filter.dataId) as Float32Array).slice(); // [kh, kw, ci, co], small; a copy, as later writes may grow the heap

      // dy 1×1, no leading padding, output kh×kw: dx[n, (h, w, ci)] = Σ_co dy[n, co] · W[(h, w, ci), co], a matmul,
      // run as a 1×1 convolution (XNNPACK; the backend's BatchMatMul is slower) by Wᵀ [1, 1, co, kh·kw·ci]
      if (oh === 1 && ow === 1 && top === 0 && left === 0 && H === kh && W === kw) {
        const K = kh * kw * ci;
        const f = new Float32Array(co * K);
        for (let j = 0; j < K; j++) for (let o = 0; o < co; o++) f[o * K + j] = w[j * co + o];
        const fInfo: TensorInfo = { dataId: b.write(f, [1, 1, co, K], 'float32'), shape: [1, 1, co, K], dtype: 'float32' };
        const out = kernel(tf.Conv2D, { x: dy, filter: fInfo }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
        b.disposeData(fInfo.dataId);
        return { dataId: out.dataId, shape: [n, H, W, ci], dtype: 'float32' };
      }

      const sh = info.strideHeight;
      const sw = info.strideWidth;
      const rows = Math.ceil(H / sh);
      const cols = Math.ceil(W / sw);
      const ax: Axis = { size: H, dySize: oh, k: kh, s: sh, pad: top };
      const ay: Axis = { size: W, dySize: ow, k: kw, s: sw, pad: left };
      // phases in output order: output row r of each block of s comes from phase (r + p) mod s
      const rowPhases = Array.from({ length: sh }, (_, r) => phase(ax, (r + top) % sh, rows));
      const colPhases = Array.from({ length: sw }, (_, c) => phase(ay, (c + left) % sw, cols));
      if (rowPhases.some((p) => !p) || colPhases.some((p) => !p)) return fallback(args);

      const parts: TensorInfo[] = [];
      for (const pr of rowPhases) {
        for (const pc of colPhases) {
          const Jh = pr!.taps.length;
          const Jw = pc!.taps.length;
          // F[a, b, co, ci] = W[taps_h[Jh−1−a], taps_w[Jw−1−b], ci, co]
          const f = new Float32Array(Jh * Jw * co * ci);
          for (let a = 0; a < Jh; a++) {
            for (let bb = 0; bb < Jw; bb++) {
              const src = (pr!.taps[Jh - 1 - a] * kw + pc!.taps[Jw - 1 - bb]) * ci * co;
              const dst = (a * Jw + bb) * co * ci;
              for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) f[dst + o * ci + i] = w[src + i * co + o];
            }
          }
          const fInfo = { dataId: b.write(f, [Jh, Jw, co, ci], 'float32'), shape: [Jh, Jw, co, ci], dtype: 'float32' as const };
          parts.push(kernel(tf.Conv2D, { x: dy, filter: fInfo }, {
            strides: 1, pad: [[0, 0], [pr!.padBefore, pr!.padAfter], [pc!.padBefore, pc!.padAfter], [0, 0]], dataFormat: 'NHWC', dilations: 1,
          })); // [n, rows, cols, ci]
          b.disposeData(fInfo.dataId);
        }
      }
      let out: TensorInfo;
      if (parts.length === 1) out = parts[0];
      else {
        const cat = kernel(tf.Concat, parts, { axis: 3 }); // [n, rows, cols, (s_h, s_w, ci)]
        // [n·rows, cols, s_h, s_w·ci] → [n·rows, s_h, cols, s_w·ci] = [n, H, W, ci]: the backend's DepthToSpace
        // does the same interleave several times slower than its Transpose
        const blocks: TensorInfo = { dataId: cat.dataId, shape: [n * rows, cols, sh, sw * ci], dtype: 'float32' };
        const t = kernel(tf.Transpose, { x: blocks }, { perm: [0, 2, 1, 3] });
        out = { dataId: t.dataId, shape: [n, rows * sh, cols * sw, ci], dtype: 'float32' };
        for (const t of [...parts, cat]) b.disposeData(t.dataId);
      }
      if (out.shape[1] !== H || out.shape[2] !== W) {
        const cut = kernel(tf.Slice, { x: out }, { begin: [0, 0, 0, 0], size: [n, H, W, ci] });
        b.disposeData(out.dataId);
        out = cut;
      }
      return out;
    },
  };
  (config as unknown as Record<symbol, boolean>)[REPLACED] = true;
  tf.registerKernel(config);
}
