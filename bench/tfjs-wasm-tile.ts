// tfjs-backend-wasm 4.22's Tile is a per-element index loop: tiling [1, 1, 1, 128] to [128, 7, 7, 128] takes
// ~65 ms. tfjs-core's batchNorm gradient tiles the inverse standard deviation to the activation's shape (four
// times a DCGAN step, ~0.4 s of it). When every tiled axis has size 1 the tile is a broadcast, and the backend's
// own broadcasting Add onto a Fill of zeros gives the same values in a few ms. Other tiles go to the shipped kernel.
import type * as Tfjs from '@tensorflow/tfjs-core';

import { wasmReplacements } from './tfjs-wasm-switch.js';

type TensorInfo = Tfjs.TensorInfo;

const REPLACED = Symbol.for('atelier.wasmTile');

export function registerWasmTile(tf: typeof Tfjs): void {
  const shipped = tf.getKernel(tf.Tile, 'wasm');
  if (!shipped || (shipped as unknown as Record<symbol, boolean>)[REPLACED]) return;
  const fallback = shipped.kernelFunc;
  tf.unregisterKernel(tf.Tile, 'wasm');
  const config: Tfjs.KernelConfig = {
    kernelName: tf.Tile,
    backendName: 'wasm',
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x } = inputs as { x: TensorInfo };
      const { reps } = attrs as unknown as Tfjs.TileAttrs;
      if (!wasmReplacements.on || x.dtype !== 'float32' || !x.shape.every((d, i) => d === 1 || reps[i] === 1)) return fallback(args);
      const kernel = (name: string, kernelInputs: Record<string, TensorInfo>, kernelAttrs: object) =>
        tf.getKernel(name, 'wasm').kernelFunc({ inputs: kernelInputs, backend, attrs: kernelAttrs as Tfjs.NamedAttrMap }) as TensorInfo;
      const shape = x.shape.map((d, i) => d * reps[i]);
      const zeros = kernel(tf.Fill, {}, { shape, value: 0, dtype: 'float32' });
      const out = kernel(tf.Add, { a: zeros, b: x }, {});
      (backend as Tfjs.KernelBackend).disposeData(zeros.dataId);
      return out;
    },
  };
  (config as unknown as Record<symbol, boolean>)[REPLACED] = true;
  tf.registerKernel(config);
}
