// The DCGAN step timed on TensorFlow.js backends ("peers"), the same way as atelier's: wall time from recording
// the step to holding its four statistics on the CPU.
import type * as Tfjs from '@tensorflow/tfjs-core';
import { medianOf } from './stats.js';
import { TfjsDcgan } from './tfjs-dcgan.js';
import { initTfjsWasm, initTfjsWebgpu, loadTfjs, type TfjsBackend } from './tfjs-backends.js';
import type { ModelFacts } from './model-check.js';

/** wasm: tfjs-backend-wasm as shipped (plus the one kernel it lacks to train); wasm-xnnpack: with our replacements. */
export const PEERS = ['webgpu', 'wasm', 'wasm-xnnpack'] as const;
export type Peer = (typeof PEERS)[number];

export interface PeerFigures {
  system: `tfjs-${Peer}`;
  detail: string;
  adapter?: string;
  threads?: number;
  batch: number;
  msPerStep: number;
  steps: number;
  warmups: number;
  /** The first step's statistics, a sanity check that it trains: [lossD, lossG, D(x), D(G(z))]. */
  firstStats: number[];
  facts: ModelFacts;
}

export interface PeerFailure {
  system: string;
  error: string;
}

async function init(peer: Peer, tf: typeof Tfjs, wasmThreads: number): Promise<TfjsBackend> {
  return peer === 'webgpu' ? initTfjsWebgpu(tf) : initTfjsWasm(tf, wasmThreads, peer === 'wasm-xnnpack');
}

export async function benchPeer(peer: Peer, opts: { batch: number; runs: number; warmups: number; wasmThreads: number }): Promise<PeerFigures> {
  const tf = await loadTfjs();
  const backend = await init(peer, tf, opts.wasmThreads);
  const model = new TfjsDcgan(tf);
  const real = tf.randomNormal([opts.batch, 28, 28, 1], 0, 0.5) as Tfjs.Tensor4D;
  try {
    const facts = model.facts();
    let firstStats: number[] = [];
    const msPerStep = await medianOf(opts.runs, async () => {
      const start = performance.now();
      const stats = model.step(real);
      const values = Array.from(await stats.data());
      stats.dispose();
      if (!firstStats.length) firstStats = values;
      return performance.now() - start;
    }, opts.warmups);
    return { system: `tfjs-${peer}`, detail: backend.detail, adapter: backend.adapter, threads: backend.threads, batch: opts.batch, msPerStep, steps: opts.runs, warmups: opts.warmups, firstStats, facts };
  } finally {
    real.dispose();
    model.dispose();
  }
}
