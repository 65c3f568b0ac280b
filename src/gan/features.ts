// The classifier run over many images, in batches on the GPU (eval mode, no graph): penultimate features for
// FID and precision/recall, logits for the class measures and accuracy.
import type { Engine } from '../runtime/engine.js';
import { bufferLimit } from '../runtime/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/ops/create.js';
import { noGrad, tidy } from '../tensor/autograd.js';
import { CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, type FeatureClassifier } from './classifier.js';

export interface ClassifierOutputs {
  count: number;
  /** count × 128. */
  features: Float32Array;
  /** count × 10. */
  logits: Float32Array;
}

/** Features and logits of a batch already on the GPU, [N, 1, H, W] in [−1, 1]. */
export async function classifyBatch(engine: Engine, model: FeatureClassifier, images: Tensor): Promise<ClassifierOutputs> {
  const wasTraining = model.training;
  model.eval();
  try {
    const out = noGrad(engine, () => tidy(engine, () => model.featuresAndLogits(images)));
    try {
      return { count: images.shape[0], features: await out.features.toArray(), logits: await out.logits.toArray() };
    } finally {
      out.features.dispose();
      out.logits.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
}

/**
 * Bytes per 28×28 image of the classifier's widest buffer: its second convolution's unfolded columns,
 * 32·3·3 × 7·7 floats.
 */
const CLASSIFIER_BYTES_PER_IMAGE = 4 * 32 * 9 * 49;

/**
 * Features and logits of `count` h×w images laid out count×h×w in [−1, 1], run `batchSize` images at a time
 * (default 500, 28 MB in the widest buffer; fewer when the device's maxStorageBufferBindingSize needs it).
 */
export async function classifyImages(engine: Engine, model: FeatureClassifier, images: Float32Array, count: number, { height = 28, width = 28, batchSize = 500 } = {}): Promise<ClassifierOutputs> {
  const pixels = height * width;
  if (images.length < count * pixels) throw new Error(`classifyImages: ${count} images of ${height}×${width} need ${count * pixels} values, got ${images.length}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`classifyImages: batchSize must be a whole number ≥ 1, got ${batchSize}`);
  const limit = bufferLimit(engine.device?.limits);
  const chunk = Math.max(1, Math.min(batchSize, Math.floor(limit / (CLASSIFIER_BYTES_PER_IMAGE * (pixels / 784)))));
  const out = emptyOutputs(count);
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const batch = tensor(engine, images.subarray(start * pixels, (start + n) * pixels), [n, 1, height, width]);
    try {
      appendOutputs(out, await classifyBatch(engine, model, batch), start);
    } finally {
      batch.dispose();
    }
  }
  return out;
}

export function emptyOutputs(count: number): ClassifierOutputs {
  return { count, features: new Float32Array(count * CLASSIFIER_FEATURES), logits: new Float32Array(count * CLASSIFIER_CLASSES) };
}

/** Copies a batch's outputs into `into` starting at row `start`. */
export function appendOutputs(into: ClassifierOutputs, batch: ClassifierOutputs, start: number): void {
  into.features.set(batch.features, start * CLASSIFIER_FEATURES);
  into.logits.set(batch.logits, start * CLASSIFIER_CLASSES);
}

/**
 * Fraction of rows whose predicted class (the arg-max of the row's logits; the first on ties) is the label.
 * logits: [rows, classes] row-major; labels: [rows] class indices. The class count is logits.length / rows, so
 * any number of classes works (a CIFAR-100 head as well as Fashion-MNIST's 10). Throws when the logits do not
 * split into `labels.length` equal rows or there are no rows.
 */
export function accuracy(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
  const rows = labels.length;
  const classes = rows > 0 ? logits.length / rows : 0;
  if (!(Number.isInteger(classes) && classes >= 1)) {
    throw new Error(`accuracy: ${logits.length} logits do not split into ${rows} rows of equal length (one per label)`);
  }
  let right = 0;
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    if (best === labels[i]) right++;
  }
  return right / rows;
}
