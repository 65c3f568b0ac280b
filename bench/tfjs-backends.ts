// TensorFlow.js backends for the step comparison, in this Node process: tfjs-backend-webgpu on Dawn (the same
// `webgpu` package and adapter kind as atelier) and tfjs-backend-wasm's SIMD build with threads. Loaded
// dynamically so that a bench without peers never loads tfjs.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { create, globals } from 'webgpu';
import type * as Tfjs from '@tensorflow/tfjs-core';
import { adapterName } from '../src/runtime/device.js';
import { initThreadedWasm } from './tfjs-wasm-threads.js';
import { registerWasmConvFilterGrad } from './tfjs-wasm-conv-filter-grad.js';
import { registerWasmConvInputGrad } from './tfjs-wasm-conv-input-grad.js';
import { registerWasmTile } from './tfjs-wasm-tile.js';
import { wasmReplacements } from './tfjs-wasm-switch.js';

export type Tf = typeof Tfjs;

export interface TfjsBackend {
  tf: Tf;
  /** What ran: adapter, build, threads. */
  detail: string;
  /** The WebGPU adapter's name (webgpu only). */
  adapter?: string;
  threads?: number;
}

// Dawn crashes at the next mapAsync once the object create() returned is garbage-collected: hold it forever.
const keepAlive: unknown[] = [];

// The union package, not tfjs-core alone: tfjs-core's Node build registers no gradients (the union's bundle
// does), so with it alone nothing can be trained. Its API is tfjs-core's.
export const loadTfjs = (): Promise<Tf> => import('@tensorflow/tfjs');

/** tfjs-backend-webgpu, unmodified: it only needs `navigator.gpu`, set before the backend module loads. */
export async function initTfjsWebgpu(tf: Tf): Promise<TfjsBackend> {
  Object.assign(globalThis, globals);
  const gpu = create([]);
  keepAlive.push(gpu);
  if (globalThis.navigator) Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  // the adapter tfjs will pick: it asks for the same power preference
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('tfjs-webgpu: no WebGPU adapter');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise');
  return { tf, detail: 'WebGPU (Dawn), unmodified backend', adapter: adapterName(adapter) };
}

/**
 * tfjs-backend-wasm, SIMD, `threads` threads, plus the weight-gradient kernel it lacks. With `xnnpack`, two
 * shipped kernels that are plain loops (Conv2DBackpropInput, i.e. conv2dTranspose and the conv input gradient,
 * and Tile as batchNorm's gradient uses it) are replaced by the same arithmetic on the backend's own XNNPACK
 * Conv2D and broadcasting Add: they were ~75 % of the shipped backend's step (5.5 s → 1.1 s at 2 threads).
 * Initialised once; later calls only switch the replacements on or off.
 */
let wasmBackend: Promise<TfjsBackend> | null = null;

export async function initTfjsWasm(tf: Tf, threads: number, xnnpack: boolean): Promise<TfjsBackend> {
  wasmBackend ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist/');
    wasm.setWasmPaths(dist);
    registerWasmConvFilterGrad(tf);
    registerWasmConvInputGrad(tf);
    registerWasmTile(tf);
    const used = await initThreadedWasm(tf, wasm, threads);
    return { tf, detail: `WASM SIMD, threaded build, ${used} thread${used === 1 ? '' : 's'}${used === threads ? '' : ` (asked for ${threads})`}`, threads: used };
  })();
  const backend = await wasmBackend;
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  wasmReplacements.on = xnnpack;
  return { ...backend, detail: `${backend.detail}, ${xnnpack ? 'conv input grad and tile on XNNPACK (ours)' : 'kernels as shipped + the missing conv filter grad'}` };
}
