// Measured quality of a generator, against real Fashion-MNIST images, through the feature classifier.
//
// For use during training (the numbers every K epochs), with the test-set statistics computed once:
//
//   const probe = await createQualityProbe(engine, classifierTensors, testImages, { n: 2000 });
//   const { fid, classKl, inceptionScore, n } = await probe.measure(G, latentDim);
//   probe.dispose();
//
//   createQualityProbe(engine: Engine, classifierState: LoadedTensors /* classifier.* tensors, e.g.
//     readSafetensors('models/classifier.safetensors').tensors */, testImages: Float32Array /* count×28×28 in
//     [−1, 1], as loadFashionMnist gives */, options?: { n?: number = 2000, seed?: number = 0,
//     batchSize?: number = 250, height?: number = 28, width?: number = 28 }): Promise<QualityProbe>
//   QualityProbe.measure(G: Sequential, latentDim: number): Promise<{ fid: number; classKl: number;
//     inceptionScore: number; n: number }> — G in eval mode on the same n latent vectors every call (G's mode,
//     its weights and the engine's RNG are left as they were); fid against all the test images
//   QualityProbe.dispose(): void
//
// And the full report behind `npm run evaluate` (evaluateGenerator). Browser-safe: arrays in, numbers out.
import type { Engine } from '../runtime/engine.js';
import type { Sequential } from '../nn/layers.js';
import { forEachGenerated, inferenceChunk, sampleLatents } from './sampling.js';
import { ConditionalGenerator, balancedLabels, generatorInput } from './network.js';
import type { ImageSet } from './real-samples.js';
import { loadClassifier, CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, type FeatureClassifier } from './classifier.js';
import type { LoadedTensors } from './checkpoint.js';
import { classifyBatch, classifyImages, emptyOutputs, appendOutputs, type ClassifierOutputs } from './features.js';
import {
  gaussianStats, frechetDistance, inceptionScore, classHistogram, klFromUniform, manifoldMembership, summarizeDistances,
  exactNeighbours, predictedClasses, meanByClass, fractionSet, type NeighbourSearch, type DistanceSummary,
} from './quality.js';

/** Pixel distance (images in [0, 1]) below which a generated image counts as a near-copy of a training image. */
export const NEAR_COPY_DISTANCE = 1.0;

export type { ImageSet } from './real-samples.js';

export interface SampleOptions {
  /** z for batch b is drawn from the key (seed, b): the same seed and batch size give the same images. */
  seed?: number;
  /** Images per z draw (default 250); it defines the z stream, so it changes the images. */
  batchSize?: number;
  /** Images per run of G and the classifier at most (default inferenceChunk for G); it changes no numbers. */
  chunk?: number;
  /** Standard deviation of z (default 1, what G was trained on); below 1 trades diversity for fidelity. */
  temperature?: number;
  /** Also return the images' pixels. */
  keepPixels?: boolean;
}

export interface Samples {
  outputs: ClassifierOutputs;
  /** n×H×W in [−1, 1] when keepPixels. */
  pixels?: Float32Array;
}

/**
 * n images from G in eval mode, z drawn per batch of `batchSize` from the key (seed, b), each run through G and
 * classified on the GPU in chunks of at most `chunk` images as it is made. A class-conditional G makes image i
 * of class i mod classes (balancedLabels).
 */
export async function sampleAndClassify(engine: Engine, G: Sequential, latentDim: number, classifier: FeatureClassifier, n: number, { seed = 0, batchSize = 250, chunk, temperature = 1, keepPixels = false }: SampleOptions = {}): Promise<Samples> {
  const outputs = emptyOutputs(n);
  const maxChunk = chunk ?? inferenceChunk(engine, G);
  let pixels: Float32Array | undefined;
  for (let start = 0, b = 0; start < n; start += batchSize, b++) {
    const count = Math.min(batchSize, n - start);
    const drawn = sampleLatents(engine, count, latentDim, { seed, counter: b }, temperature);
    // A conditional G is asked for the classes in turn (image i: class i mod classes), a balanced set.
    const z = generatorInput(engine, G, drawn, G instanceof ConditionalGenerator ? balancedLabels(start, count, G.classes) : undefined);
    if (z !== drawn) drawn.dispose();
    try {
      await forEachGenerated(engine, G, z, maxChunk, async (images, offset) => {
        appendOutputs(outputs, await classifyBatch(engine, classifier, images), start + offset);
        if (keepPixels) {
          const values = await images.toArray();
          const size = values.length / images.shape[0];
          pixels ??= new Float32Array(n * size);
          pixels.set(values, (start + offset) * size);
        }
      });
    } finally {
      z.dispose();
    }
  }
  return { outputs, pixels };
}

export interface ProbeResult {
  fid: number;
  /** KL(predicted-class histogram ‖ uniform), nats. */
  classKl: number;
  inceptionScore: number;
  n: number;
}

export interface QualityProbe {
  readonly n: number;
  measure(G: Sequential, latentDim: number): Promise<ProbeResult>;
  dispose(): void;
}

export interface ProbeOptions {
  /** Generated images per measurement (default 2000). */
  n?: number;
  seed?: number;
  batchSize?: number;
  height?: number;
  width?: number;
}

export async function createQualityProbe(engine: Engine, classifierState: LoadedTensors, testImages: Float32Array, options: ProbeOptions = {}): Promise<QualityProbe> {
  const { n = 2000, seed = 0, batchSize = 250, height = 28, width = 28 } = options;
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`createQualityProbe: n must be a whole number ≥ 2, got ${n}`);
  const testCount = testImages.length / (height * width);
  if (!(Number.isInteger(testCount) && testCount >= 2)) throw new Error(`createQualityProbe: ${testImages.length} values are not at least 2 test images of ${height}×${width}`);
  const classifier = loadClassifier(engine, classifierState, 'quality probe classifier');
  try {
    const test = await classifyImages(engine, classifier, testImages, testCount, { height, width });
    const testStats = gaussianStats(test.features, testCount, CLASSIFIER_FEATURES);
    return {
      n,
      async measure(G, latentDim) {
        const { outputs } = await sampleAndClassify(engine, G, latentDim, classifier, n, { seed, batchSize });
        return {
          fid: frechetDistance(gaussianStats(outputs.features, n, CLASSIFIER_FEATURES), testStats),
          classKl: klFromUniform(classHistogram(outputs.logits, CLASSIFIER_CLASSES)),
          inceptionScore: inceptionScore(outputs.logits, CLASSIFIER_CLASSES),
          n,
        };
      },
      dispose: () => classifier.dispose(),
    };
  } catch (e) {
    classifier.dispose();
    throw e;
  }
}

export interface EvaluationData {
  /** All test images: the reference distribution for FID. */
  test: ImageSet;
  /** n test images: the real side of precision/recall and the memorization reference. */
  testSample: ImageSet;
  /** n training images: the FID floor and the reference precision/recall. */
  trainSample: ImageSet;
  /** All training images: searched for each image's nearest neighbour. */
  train: ImageSet;
  height: number;
  width: number;
  /** The test images' true classes: needed for a class-conditional G (per-class FID, precision and recall). */
  testLabels?: ArrayLike<number>;
}

export interface EvaluationOptions {
  n: number;
  seed?: number;
  k?: number;
  /** Images per z draw (default 250): see SampleOptions. */
  batchSize?: number;
  /** Images per run of G and the classifier at most: see SampleOptions. */
  chunk?: number;
  /** Standard deviation of z (default 1). */
  temperature?: number;
  /** Closest generated/training pairs to return for a figure. */
  pairs?: number;
  /** Neighbour search for precision/recall and memorization (default exact on the CPU: pass the GPU one). */
  search?: NeighbourSearch;
  log?: (line: string) => void;
}

export interface NearestTraining {
  /** Index of the nearest training image per query image. */
  index: Int32Array;
  /** Its L2 distance, pixels in [0, 1]. */
  distance: Float64Array;
}

export interface Evaluation {
  n: number;
  k: number;
  seed: number;
  /** Standard deviation of z. */
  temperature: number;
  fid: number;
  /** FID of n training images against the same test set: what a perfect generator would score at this n. */
  fid_floor: number;
  fid_ratio: number;
  precision: number;
  recall: number;
  /** Precision and recall of n training images against the n test images. */
  reference_precision: number;
  reference_recall: number;
  /**
   * Per class c (the classifier's prediction): precision over the generated images predicted c, recall over the
   * n real test images predicted c, and the same for the n real training images (NaN, null in JSON, if none).
   */
  by_class: { precision: number[]; recall: number[]; reference_precision: number[]; reference_recall: number[] };
  inception_score: number;
  inception_score_test: number;
  class_histogram: number[];
  class_kl: number;
  class_kl_test: number;
  memorization: { generated: DistanceSummary; test: DistanceSummary };
  closest_pairs: { generated: number; train: number; distance: number }[];
  /** A class-conditional G's measures (image i asked for class i mod classes; see conditionalMeasures). */
  conditional?: ConditionalMeasures;
  seconds: number;
}

/** Per class c: over the generated images asked for c, against the test images whose true class is c. */
export interface ConditionalMeasures {
  classes: number;
  /** The classifier's accuracy on the generated images against the class asked for. */
  accuracy: number;
  by_class: { n: number[]; accuracy: number[]; fid: number[]; precision: number[]; recall: number[] };
}

/**
 * The fraction of images whose predicted class (argmax of `logits`, [count, classes]) is the one asked for
 * (`asked`, count of them): the conditional accuracy. Throws when the counts differ.
 */
export function conditionalAccuracy(logits: ArrayLike<number>, asked: ArrayLike<number>, classes = CLASSIFIER_CLASSES): number {
  const predicted = predictedClasses(logits, classes);
  if (predicted.length !== asked.length) throw new Error(`conditionalAccuracy: ${predicted.length} images but ${asked.length} classes asked for`);
  let hits = 0;
  predicted.forEach((c, i) => { if (c === asked[i]) hits++; });
  return hits / predicted.length;
}

const rowsOf = (features: Float32Array, picked: number[], dim: number) => {
  const out = new Float32Array(picked.length * dim);
  picked.forEach((r, i) => out.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
};

/**
 * Conditional accuracy overall and per class, and per class c the FID, precision and recall (k-NN manifolds) of
 * the generated images asked for c against the real images of class c (`realFeatures`, `realLabels`). A class
 * with too few images for a measure gets NaN.
 */
export async function conditionalMeasures(fake: ClassifierOutputs, asked: ArrayLike<number>, realFeatures: Float32Array, realLabels: ArrayLike<number>, classes: number, { k = 3, search = exactNeighbours }: { k?: number; search?: NeighbourSearch } = {}): Promise<ConditionalMeasures> {
  const dim = CLASSIFIER_FEATURES;
  const predicted = predictedClasses(fake.logits, CLASSIFIER_CLASSES);
  const by = { n: [] as number[], accuracy: [] as number[], fid: [] as number[], precision: [] as number[], recall: [] as number[] };
  for (let c = 0; c < classes; c++) {
    const mine = [...Array(asked.length).keys()].filter((i) => asked[i] === c);
    const real = [...Array(realLabels.length).keys()].filter((i) => realLabels[i] === c);
    by.n.push(mine.length);
    by.accuracy.push(mine.length ? mine.filter((i) => predicted[i] === c).length / mine.length : NaN);
    const f = rowsOf(fake.features, mine, dim);
    const r = rowsOf(realFeatures, real, dim);
    by.fid.push(mine.length >= 2 && real.length >= 2 ? frechetDistance(gaussianStats(f, mine.length, dim), gaussianStats(r, real.length, dim)) : NaN);
    if (mine.length > k && real.length > k) {
      const m = await manifoldMembership(r, f, dim, { k, search });
      by.precision.push(fractionSet(m.generatedInReal));
      by.recall.push(fractionSet(m.realInGenerated));
    } else {
      by.precision.push(NaN);
      by.recall.push(NaN);
    }
  }
  return { classes, accuracy: conditionalAccuracy(fake.logits, asked), by_class: by };
}

export interface EvaluationResult {
  report: Evaluation;
  /** The closest pairs' pixels, each pairs×H×W in [−1, 1], for a figure. */
  pairs: { generated: Float32Array; train: Float32Array };
}

/** Images in [−1, 1] mapped to [0, 1], where pixel distances are quoted. */
export function toUnitRange(images: Float32Array): Float32Array {
  return images.map((v) => (v + 1) / 2);
}

/** Each query image's nearest training image (pixels in [0, 1]). */
export async function nearestTraining(queries01: Float32Array, train01: Float32Array, pixels: number, search: NeighbourSearch): Promise<NearestTraining> {
  const { indices, scores } = await search({ queries: queries01, base: train01, dim: pixels, k: 1 });
  return { index: indices, distance: scores.map((s) => Math.sqrt(Math.max(s, 0))) };
}

export async function evaluateGenerator(engine: Engine, G: Sequential, latentDim: number, classifier: FeatureClassifier, data: EvaluationData, options: EvaluationOptions): Promise<EvaluationResult> {
  const { n, seed = 0, k = 3, batchSize = 250, chunk, temperature = 1, pairs = 16, search = exactNeighbours, log = () => undefined } = options;
  const { test, testSample, trainSample, train, height, width } = data;
  const pixels = height * width;
  if (testSample.count !== n || trainSample.count !== n) throw new Error(`evaluateGenerator: the real samples hold ${testSample.count} and ${trainSample.count} images, expected n = ${n}`);
  const started = performance.now();
  const dim = CLASSIFIER_FEATURES;

  log(`classifying ${test.count} test images and ${n} training and test images`);
  const testOut = await classifyImages(engine, classifier, test.images, test.count, { height, width });
  const testSampleOut = await classifyImages(engine, classifier, testSample.images, n, { height, width });
  const trainSampleOut = await classifyImages(engine, classifier, trainSample.images, n, { height, width });
  log(`generating and classifying ${n} images`);
  const fake = await sampleAndClassify(engine, G, latentDim, classifier, n, { seed, batchSize, chunk, temperature, keepPixels: true });

  const testStats = gaussianStats(testOut.features, test.count, dim);
  const fidValue = frechetDistance(gaussianStats(fake.outputs.features, n, dim), testStats);
  const floor = frechetDistance(gaussianStats(trainSampleOut.features, n, dim), testStats);

  log('precision and recall');
  const pr = await manifoldMembership(testSampleOut.features, fake.outputs.features, dim, { k, search });
  const reference = await manifoldMembership(testSampleOut.features, trainSampleOut.features, dim, { k, search });
  const classes = (logits: Float32Array) => predictedClasses(logits, CLASSIFIER_CLASSES);
  const [fakeClass, testClass, trainClass] = [fake.outputs.logits, testSampleOut.logits, trainSampleOut.logits].map(classes);

  log(`nearest of the ${train.count} training images to each generated and each test image`);
  const train01 = toUnitRange(train.images);
  const fake01 = toUnitRange(fake.pixels!);
  const nearestFake = await nearestTraining(fake01, train01, pixels, search);
  const nearestTest = await nearestTraining(toUnitRange(testSample.images), train01, pixels, search);

  const order = [...Array(n).keys()].sort((a, b) => nearestFake.distance[a] - nearestFake.distance[b]).slice(0, pairs);
  const pairPixels = { generated: new Float32Array(order.length * pixels), train: new Float32Array(order.length * pixels) };
  order.forEach((g, i) => {
    const t = nearestFake.index[g];
    pairPixels.generated.set(fake.pixels!.subarray(g * pixels, (g + 1) * pixels), i * pixels);
    pairPixels.train.set(train.images.subarray(t * pixels, (t + 1) * pixels), i * pixels);
  });

  let conditional: ConditionalMeasures | undefined;
  if (G instanceof ConditionalGenerator) {
    if (!data.testLabels) throw new Error('evaluateGenerator: a class-conditional generator needs data.testLabels');
    log(`conditional accuracy, and FID, precision and recall per class`);
    conditional = await conditionalMeasures(fake.outputs, balancedLabels(0, n, G.classes), testOut.features, data.testLabels, G.classes, { k, search });
  }
  const histogram = classHistogram(fake.outputs.logits, CLASSIFIER_CLASSES);
  const report: Evaluation = {
    n, k, seed, temperature,
    fid: fidValue, fid_floor: floor, fid_ratio: fidValue / floor,
    precision: fractionSet(pr.generatedInReal), recall: fractionSet(pr.realInGenerated),
    reference_precision: fractionSet(reference.generatedInReal), reference_recall: fractionSet(reference.realInGenerated),
    by_class: {
      precision: meanByClass(pr.generatedInReal, fakeClass, CLASSIFIER_CLASSES),
      recall: meanByClass(pr.realInGenerated, testClass, CLASSIFIER_CLASSES),
      reference_precision: meanByClass(reference.generatedInReal, trainClass, CLASSIFIER_CLASSES),
      reference_recall: meanByClass(reference.realInGenerated, testClass, CLASSIFIER_CLASSES),
    },
    inception_score: inceptionScore(fake.outputs.logits, CLASSIFIER_CLASSES),
    inception_score_test: inceptionScore(testSampleOut.logits, CLASSIFIER_CLASSES),
    class_histogram: histogram,
    class_kl: klFromUniform(histogram),
    class_kl_test: klFromUniform(classHistogram(testSampleOut.logits, CLASSIFIER_CLASSES)),
    memorization: {
      generated: summarizeDistances(nearestFake.distance, NEAR_COPY_DISTANCE),
      test: summarizeDistances(nearestTest.distance, NEAR_COPY_DISTANCE),
    },
    closest_pairs: order.map((g) => ({ generated: g, train: nearestFake.index[g], distance: nearestFake.distance[g] })),
    ...(conditional ? { conditional } : {}),
    seconds: (performance.now() - started) / 1000,
  };
  return { report, pairs: pairPixels };
}
