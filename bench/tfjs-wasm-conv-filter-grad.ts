// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so as shipped it cannot train a conv net. This
// registers one built from the backend's own Transpose, Conv2D (with dilation) and Slice kernels:
//   dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·s + kh − p, ow·s + kw − p, ci] · dy[n, oh, ow, co]
// is a stride-1 convolution of x with ci as the batch and n as the channels, by dy as a filter dilated by s.
import type * as Tfjs from '@tensorflow/tfjs-core';

type TensorInfo = Tfjs.TensorInfo;
type Shape4 = [number, number, number, number];

export function registerWasmConvFilterGrad(tf: typeof Tfjs): void {
  if (tf.getKernelsForBackend('wasm').some((k) => k.kernelName === tf.Conv2DBackpropFilter)) return;
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Tfjs.Conv2DBackpropFilterAttrs;
      if (dataFormat !== 'NHWC') throw new Error(`wasm Conv2DBackpropFilter: only NHWC, got ${dataFormat}`);
      const kernel = (name: string, kernelInputs: Record<string, TensorInfo>, kernelAttrs: object) =>
        tf.getKernel(name, 'wasm').kernelFunc({ inputs: kernelInputs, backend, attrs: kernelAttrs as Tfjs.NamedAttrMap }) as TensorInfo;
      const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape as Shape4, strides, 1, pad, dimRoundingMode);
      const [kh, kw, ci, co] = filterShape;
      const { top, bottom, left, right } = info.padInfo;

      const xT = kernel(tf.Transpose, { x }, { perm: [3, 1, 2, 0] }); // [ci, H, W, n]
      const dyT = kernel(tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]
      const full = kernel(tf.Conv2D, { x: xT, filter: dyT }, {
        strides: 1, pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [info.strideHeight, info.strideWidth],
      }); // [ci, ≥kh, ≥kw, co]: the forward's trailing padding can reach past the last tap
      const taps = kernel(tf.Slice, { x: full }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
      const dW = kernel(tf.Transpose, { x: taps }, { perm: [1, 2, 0, 3] });
      for (const t of [xT, dyT, full, taps]) (backend as Tfjs.KernelBackend).disposeData(t.dataId);
      return dW;
    },
  });
}
