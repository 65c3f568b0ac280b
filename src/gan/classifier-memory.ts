// The largest GPU buffers one training step of the feature classifier needs, from the batch size alone, so that
// `train-classifier` can refuse a batch the device cannot hold before it creates anything (as step-memory.ts
// does for the DCGAN). Sizes follow the layers of classifier.ts on 28×28 images: each conv with 4 or more output
// channels runs as a GEMM over its unfolded input col [Cin·kH·kW, N·OH·OW], and its gradient has the same size.
import { type StepBuffer } from './step-memory.js';
import { CLASSIFIER_CLASSES, CLASSIFIER_FEATURES } from './classifier.js';

const F32 = 4;
const buffer = (what: string, shape: number[]): StepBuffer => ({ what, shape, bytes: shape.reduce((a, b) => a * b, 1) * F32 });

/** The classifier step's big buffers (activations, unfolded inputs, weights) for a batch of `b` 28×28 images. */
export function classifierStepBuffers(b: number): StepBuffer[] {
  return [
    buffer('the input images', [b, 1, 28, 28]),
    buffer("layer 0's unfolded input (1·5·5 × batch·14·14)", [25, b * 196]),
    buffer("layer 0's output", [b, 32, 14, 14]),
    buffer("layer 3's unfolded input (32·3·3 × batch·7·7)", [288, b * 49]),
    buffer("layer 3's output", [b, 64, 7, 7]),
    buffer("layer 7's weight [128, 64·7·7]", [CLASSIFIER_FEATURES, 64 * 7 * 7]),
    buffer("layer 7's output", [b, CLASSIFIER_FEATURES]),
    buffer('the logits', [b, CLASSIFIER_CLASSES]),
  ];
}

export function largestClassifierBuffer(batchSize: number): StepBuffer {
  return classifierStepBuffers(batchSize).reduce((a, c) => (c.bytes > a.bytes ? c : a));
}

export interface ClassifierStepTooLarge {
  buffer: StepBuffer;
  limitBytes: number;
  /** The largest batch size whose step fits (0 when not even 1 does). */
  largestBatch: number;
}

/**
 * null when every buffer of a classifier step on `batchSize` images fits `limitBytes` (see bufferLimit in
 * step-memory.ts), else the largest buffer and the largest batch size that fits.
 */
export function classifierStepTooLarge(batchSize: number, limitBytes: number): ClassifierStepTooLarge | null {
  const largest = largestClassifierBuffer(batchSize);
  if (largest.bytes <= limitBytes) return null;
  const fits = (b: number) => largestClassifierBuffer(b).bytes <= limitBytes;
  // Every buffer grows with the batch (or not at all), so the batches that fit are 1…largestBatch.
  let lo = 0;
  let hi = batchSize;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return { buffer: largest, limitBytes, largestBatch: lo };
}
