// tfjs-backend-wasm with threads in Node. As shipped it runs single-threaded there: the WASM_HAS_MULTITHREAD_SUPPORT
// flag is false under Node, its pthread workers are loaded from blob: URLs (which Node's Worker refuses), and
// the threaded build caps its pool at half of os.cpus(). This switches the flag on, hands Emscripten a worker
// file that loads from disk (tfjs-wasm-worker.cjs), and lets the cap admit `threads` — only while the backend
// initialises; nothing under node_modules is changed.
import os from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Tfjs from '@tensorflow/tfjs-core';
import type * as TfjsWasm from '@tensorflow/tfjs-backend-wasm';

function workerPath(): string {
  // next to this file when run from bench/, two levels up when run from dist/bench/
  const candidates = ['./tfjs-wasm-worker.cjs', '../../bench/tfjs-wasm-worker.cjs'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`tfjs-wasm-worker.cjs not found (looked at ${candidates.join(', ')})`);
  return found;
}

/** Initialises the 'wasm' backend on its threaded SIMD build; returns the thread count XNNPACK actually uses. */
export async function initThreadedWasm(tf: typeof Tfjs, wasm: typeof TfjsWasm, threads: number): Promise<number> {
  const worker = workerPath();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  const mutableOs = os as { cpus: typeof os.cpus };
  const { cpus } = os;
  const real = cpus();
  const { createObjectURL } = URL;
  // The worker script is the only Blob of this type the backend makes (its main script is text/javascript).
  URL.createObjectURL = (obj) => (obj instanceof Blob && obj.type === 'application/javascript' ? worker : createObjectURL(obj));
  // The pool size is min(requested, os.cpus().length / 2): report twice the threads wanted.
  mutableOs.cpus = () => Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  } finally {
    URL.createObjectURL = createObjectURL;
    mutableOs.cpus = cpus;
  }
  return wasm.getThreadsCount();
}
