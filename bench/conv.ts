// Naive vs fast conv kernels on the DCGAN's six conv layers at batch 128: forward, grad-input and grad-weight.
// Each timing records the pass's dispatches and waits for them (engine.sync()); the median of a few runs is
// reported. Pipelines don't depend on sizes, so a batch-1 warm-up compiles everything.
import type { Engine } from '../src/runtime/engine.js';
import type { DeviceArray } from '../src/runtime/storage.js';
import { rand } from '../src/tensor/ops/create.js';
import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel, convTranspose2dKernel, type ConvAlgorithm } from '../src/kernels/conv.js';

export type ConvPass = 'forward' | 'grad-input' | 'grad-weight';

export interface ConvBenchRow {
  layer: string;
  pass: ConvPass;
  algorithm: ConvAlgorithm;
  ms: number;
}

interface Layer {
  name: string;
  transposed: boolean;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  padding: number;
  size: number;
}

export const DCGAN_CONV_LAYERS: Layer[] = [
  { name: 'G1 convT 100→128 k7 s1 p0 1→7', transposed: true, cin: 100, cout: 128, k: 7, stride: 1, padding: 0, size: 1 },
  { name: 'G2 convT 128→64 k4 s2 p1 7→14', transposed: true, cin: 128, cout: 64, k: 4, stride: 2, padding: 1, size: 7 },
  { name: 'G3 convT 64→1 k4 s2 p1 14→28', transposed: true, cin: 64, cout: 1, k: 4, stride: 2, padding: 1, size: 14 },
  { name: 'D1 conv 1→64 k4 s2 p1 28→14', transposed: false, cin: 1, cout: 64, k: 4, stride: 2, padding: 1, size: 28 },
  { name: 'D2 conv 64→128 k4 s2 p1 14→7', transposed: false, cin: 64, cout: 128, k: 4, stride: 2, padding: 1, size: 14 },
  { name: 'D3 conv 128→1 k7 s1 p0 7→1', transposed: false, cin: 128, cout: 1, k: 7, stride: 1, padding: 0, size: 7 },
];

const PASSES: ConvPass[] = ['forward', 'grad-input', 'grad-weight'];

/** The layer's tensors at `batch`, and a function recording one pass of it (returning the result). */
function setup(engine: Engine, layer: Layer, batch: number) {
  const { transposed, cin, cout, k, stride, padding, size } = layer;
  const outSize = transposed ? (size - 1) * stride - 2 * padding + k : Math.floor((size + 2 * padding - k) / stride) + 1;
  const xShape = [batch, cin, size, size];
  const yShape = [batch, cout, outSize, outSize];
  const wShape = transposed ? [cin, cout, k, k] : [cout, cin, k, k];
  const x = rand(engine, xShape, -1, 1, { seed: 1 });
  const w = rand(engine, wShape, -0.1, 0.1, { seed: 2 });
  const dy = rand(engine, yShape, -1, 1, { seed: 3 });
  const geometry = { stride, padding };
  // A transposed layer is a conv2d read backwards: its forward is conv2d's grad-input, its grad-input is conv2d's
  // forward, and its weight gradient is conv2d's with input and output gradient swapped.
  const passes: Record<ConvPass, (algorithm: ConvAlgorithm) => DeviceArray> = transposed
    ? {
        forward: (algorithm) => convTranspose2dKernel(x, w, yShape, { ...geometry, algorithm }),
        'grad-input': (algorithm) => conv2dKernel(dy, w, null, { ...geometry, algorithm }),
        'grad-weight': (algorithm) => conv2dGradWeightKernel(dy, x, wShape, { ...geometry, algorithm }),
      }
    : {
        forward: (algorithm) => conv2dKernel(x, w, null, { ...geometry, algorithm }),
        'grad-input': (algorithm) => conv2dGradInputKernel(dy, w, xShape, { ...geometry, algorithm }),
        'grad-weight': (algorithm) => conv2dGradWeightKernel(x, dy, wShape, { ...geometry, algorithm }),
      };
  return { passes, dispose: () => [x, w, dy].forEach((t) => t.dispose()) };
}

async function timeOnce(engine: Engine, record: () => DeviceArray): Promise<number> {
  await engine.sync();
  const start = performance.now();
  const out = record();
  await engine.sync();
  const ms = performance.now() - start;
  out.dispose();
  return ms;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function benchConv(engine: Engine, opts: { quick?: boolean } = {}): Promise<ConvBenchRow[]> {
  const batch = 128;
  const runs: Record<ConvAlgorithm, number> = opts.quick ? { naive: 1, fast: 3 } : { naive: 3, fast: 7 };
  const rows: ConvBenchRow[] = [];
  for (const layer of DCGAN_CONV_LAYERS) {
    const warm = setup(engine, layer, 1);
    const full = setup(engine, layer, batch);
    for (const pass of PASSES) {
      for (const algorithm of ['naive', 'fast'] as ConvAlgorithm[]) {
        await timeOnce(engine, () => warm.passes[pass](algorithm));
        if (!opts.quick) await timeOnce(engine, () => full.passes[pass](algorithm));
        const times: number[] = [];
        for (let r = 0; r < runs[algorithm]; r++) times.push(await timeOnce(engine, () => full.passes[pass](algorithm)));
        rows.push({ layer: layer.name, pass, algorithm, ms: median(times) });
      }
    }
    warm.dispose();
    full.dispose();
  }
  return rows;
}
