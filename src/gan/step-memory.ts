// The largest GPU buffers one DCGAN training step needs, from the sizes alone, so that `train` can refuse a batch
// size or width the device cannot hold before it creates anything (WebGPU caps each storage binding at
// maxStorageBufferBindingSize, 128 MiB by default, and each buffer at maxBufferSize).
//
// Every conv runs as a GEMM over an unfolded input col [Cin·kH·kW, N·OH·OW] (conv-fast.ts); its gradient dcol
// has the same size and is always a storage buffer, so the largest one is what decides. Sizes follow the
// layers of models.ts; the generator also runs on the 64 fixed z of the sample grids.
import type { GanConfig } from './trainer.js';

export const SAMPLE_GRID_BATCH = 64;

export interface StepBuffer {
  /** Which buffer, e.g. "D layer 2's unfolded input". */
  what: string;
  shape: number[];
  bytes: number;
}

export type StepSizes = Pick<GanConfig, 'latentDim' | 'ngf' | 'ndf' | 'extraLayersG' | 'extraLayersD'> & { batchSize: number };

const F32 = 4;
const buffer = (what: string, shape: number[]): StepBuffer => ({ what, shape, bytes: shape.reduce((a, b) => a * b, 1) * F32 });

/** The step's big buffers (activations, unfolded inputs, weights) for 28×28 images; not a full inventory. */
export function stepBuffers({ batchSize: b, latentDim: l, ngf: g, ndf: d, extraLayersG = 0, extraLayersD = 0 }: StepSizes): StepBuffer[] {
  const gb = Math.max(b, SAMPLE_GRID_BATCH);
  // An extra layer's 3×3 conv unfolds its 14×14 input: ngf·9 × batch·196 (ndf·9 in D).
  const extra = [
    ...(extraLayersG ? [buffer("G's extra layer unfolded input (ngf·3·3 × batch·14·14)", [g * 9, gb * 196])] : []),
    ...(extraLayersD ? [buffer("D's extra layer unfolded input (ndf·3·3 × batch·14·14)", [d * 9, b * 196])] : []),
  ];
  return [
    ...extra,
    buffer("G layer 0's weight [latent, 2·ngf, 7, 7]", [l, 2 * g, 7, 7]),
    buffer("G layer 0's output", [gb, 2 * g, 7, 7]),
    buffer("G layer 3's unfolded input (ngf·4·4 × batch·7·7)", [g * 16, gb * 49]),
    buffer("G layer 3's output", [gb, g, 14, 14]),
    buffer("G layer 6's unfolded input", [16, gb * 196]),
    buffer("D layer 0's unfolded input", [16, b * 196]),
    buffer("D layer 0's output", [b, d, 14, 14]),
    buffer("D layer 2's unfolded input (ndf·4·4 × batch·7·7)", [d * 16, b * 49]),
    buffer("D layer 2's output", [b, 2 * d, 7, 7]),
    buffer("D's last layer weight [1, 2·ndf, 7, 7]", [1, 2 * d, 7, 7]),
  ];
}

export function largestStepBuffer(sizes: StepSizes): StepBuffer {
  return stepBuffers(sizes).reduce((a, c) => (c.bytes > a.bytes ? c : a));
}

export { bufferLimit } from '../runtime/device.js';

/** The largest batch size whose step fits `limitBytes` at these widths (0 when not even 1 does). */
export function largestBatchThatFits(sizes: Omit<StepSizes, 'batchSize'>, limitBytes: number): number {
  const fits = (b: number) => largestStepBuffer({ ...sizes, batchSize: b }).bytes <= limitBytes;
  if (!fits(1)) return 0;
  let lo = 1;
  let hi = 2;
  while (fits(hi) && hi < 2 ** 30) [lo, hi] = [hi, hi * 2];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface StepTooLarge {
  buffer: StepBuffer;
  limitBytes: number;
  /** The largest batch size that fits at the same widths; 0 when the widths alone are too large. */
  largestBatch: number;
}

/** null when every buffer of a step fits `limitBytes`, else the largest one and what would fit. */
export function stepTooLarge(sizes: StepSizes, limitBytes: number): StepTooLarge | null {
  const largest = largestStepBuffer(sizes);
  if (largest.bytes <= limitBytes) return null;
  return { buffer: largest, limitBytes, largestBatch: largestBatchThatFits(sizes, limitBytes) };
}

/** 140.5 MB, 128 MiB-style: MiB for exact powers of two (device limits), MB otherwise. */
export function formatBytes(bytes: number): string {
  const mib = bytes / 2 ** 20;
  if (Number.isInteger(mib)) return `${mib} MiB`;
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
