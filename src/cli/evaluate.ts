// `npm run evaluate`: measured quality of a trained generator against the Fashion-MNIST test images, through
// the feature classifier — FID (with the floor real images score at the same n), precision and recall,
// classifier Inception Score, class balance, and how close samples come to copying training images.
import type { Engine } from '../runtime/engine.js';
import { DEFAULT_DATA_DIR, FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
import { loadFashionMnist } from '../node/mnist-files.js';
import { loadClassifier } from '../gan/classifier.js';
import { evaluateGenerator, NEAR_COPY_DISTANCE, type Evaluation } from '../gan/evaluate.js';
import { sampleImages, trainSampleSeed } from '../gan/real-samples.js';
import { gpuNeighbourSearch } from '../gan/nearest.js';
import { readSafetensors } from '../io/safetensors.js';
import { imageGrid, sideBySide, encodePng } from '../io/png.js';
import { createNodeEngine } from '../node/gpu.js';
import { loadGenerator } from '../node/load-generator.js';
import { inspectGeneratorState } from '../gan/generator-state.js';
import { readModelSpec } from '../gan/model-spec.js';
import { DEFAULT_CLASSIFIER, readClassifierFile } from '../node/classifier-file.js';
import { parse, num, str, runCli, HelpRequest, UsageError, optionalNum } from '../node/args.js';
import { checkOutputs, OutputWriter } from '../node/outputs.js';
import { checkpointOf } from '../node/run-folder.js';
import { readSamplingTemperature, MAX_TEMPERATURE } from '../gan/sampling-temperature.js';

export const EVALUATE_USAGE = `usage: npm run evaluate -- --checkpoint FILE [options]
  --checkpoint FILE   a training checkpoint or a generator file
  --n N               images to generate, at most the 10,000 test images (default 10000); FID depends on n
  --classifier FILE   the feature classifier (default ${DEFAULT_CLASSIFIER}, made by npm run train-classifier)
  --data DIR          folder with the four Fashion-MNIST IDX files (default ${DEFAULT_DATA_DIR})
  --seed S            seeds z and the choice of real images (default 0)
  --temperature T     standard deviation of z (default the file's own, stored by export-generator --temperature;
                      1, as trained, for most files); below 1 trades recall for precision
  --json FILE         also write the measures as JSON
  --pairs FILE.png    also write the 16 generated images closest to a training image, beside those images
  --trained           use the last step's weights even when the checkpoint has a moving average (--ema)`;

const MIN_N = 10;

export interface EvaluateOptions {
  checkpoint: string;
  n: number;
  classifier: string;
  data: string;
  seed: number;
  /** Undefined: the file's own (readSamplingTemperature). */
  temperature?: number;
  json?: string;
  pairs?: string;
  trained: boolean;
}

export function parseEvaluateOptions(argv: string[]): EvaluateOptions {
  const v = parse(argv, {
    checkpoint: { type: 'string' }, n: { type: 'string' }, classifier: { type: 'string' }, data: { type: 'string' },
    seed: { type: 'string' }, temperature: { type: 'string' }, json: { type: 'string' }, pairs: { type: 'string' }, trained: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, EVALUATE_USAGE);
  if (v.help) throw new HelpRequest(EVALUATE_USAGE);
  const checkpoint = checkpointOf(str(v, 'checkpoint'));
  if (!checkpoint) throw new UsageError(`--checkpoint FILE is required\n\n${EVALUATE_USAGE}`);
  return {
    checkpoint,
    n: num(v, 'n', 10000, { int: true, min: MIN_N }),
    classifier: str(v, 'classifier') ?? DEFAULT_CLASSIFIER,
    data: str(v, 'data') ?? DEFAULT_DATA_DIR,
    seed: num(v, 'seed', 0, { int: true, min: 0, max: 2 ** 32 - 1 }),
    temperature: optionalNum(v, 'temperature', { minExclusive: 0, max: MAX_TEMPERATURE }),
    json: str(v, 'json'),
    pairs: str(v, 'pairs'),
    trained: Boolean(v.trained),
  };
}

export interface EvaluateResult {
  /** temperature_from: whether z's temperature was the file's own or --temperature's. */
  report: Evaluation & { checkpoint: string; weights: 'average' | 'trained'; temperature_from: 'file' | '--temperature'; classifier: string; adapter: string; date: string };
  table: string;
  files: string[];
}

export async function evaluate(argv: string[], engine?: Engine, log: (line: string) => void = () => undefined): Promise<EvaluateResult> {
  const options = parseEvaluateOptions(argv);
  const { n, seed } = options;
  // Refuse bad files and bad data before starting the GPU.
  const checkpoint = readSafetensors(options.checkpoint);
  inspectGeneratorState(checkpoint.tensors, options.checkpoint, { trained: options.trained }, readModelSpec(checkpoint.metadata, options.checkpoint));
  const stored = readSamplingTemperature(checkpoint.metadata, options.checkpoint);
  const temperature = options.temperature ?? stored;
  const classifierFile = readClassifierFile(options.classifier);
  const test = loadFashionMnist({ dir: options.data, split: 'test' });
  if (n > test.count) {
    throw new UsageError(`--n ${n}: more than the ${test.count.toLocaleString('en-US')} test images; the FID floor, precision/recall and ` +
      'the memorization reference each compare n generated images with n real test images');
  }
  const train = loadFashionMnist({ dir: options.data, split: 'train' });
  if (n > train.count) throw new UsageError(`--n ${n}: more than the ${train.count} training images the FID floor needs`);
  // Every output is checked before the GPU starts: a bad path is refused now, not after the measurement.
  checkOutputs({
    files: [...(options.json ? [{ flag: '--json', path: options.json }] : []), ...(options.pairs ? [{ flag: '--pairs', path: options.pairs }] : [])],
    inputs: [{ flag: '--checkpoint', path: options.checkpoint }, { flag: '--classifier', path: options.classifier }],
  });
  const gpu = engine ?? (await createNodeEngine());
  const { G, latentDim, weights } = loadGenerator(gpu, options.checkpoint, checkpoint, { trained: options.trained });
  let classifier;
  try {
    classifier = loadClassifier(gpu, classifierFile.tensors, options.classifier);
  } catch (e) {
    G.dispose();
    throw e;
  }
  try {
    const search = gpuNeighbourSearch(gpu);
    const { report, pairs } = await evaluateGenerator(gpu, G, latentDim, classifier, {
      test: { images: test.images, count: test.count },
      testSample: sampleImages(test, n, seed),
      trainSample: sampleImages(train, n, trainSampleSeed(seed)),
      train: { images: train.images, count: train.count },
      height: train.height, width: train.width, testLabels: test.labels,
    }, { n, seed, temperature, search, log });
    const full = { ...report, checkpoint: options.checkpoint, weights, temperature_from: options.temperature === undefined ? 'file' as const : '--temperature' as const, classifier: options.classifier, adapter: gpu.adapterName, date: new Date().toISOString() };
    const writer = new OutputWriter();
    if (options.json) writer.write('--json', options.json, JSON.stringify(full, null, 2) + '\n');
    if (options.pairs) {
      const count = report.closest_pairs.length;
      const grid = (images: Float32Array) => imageGrid(images, count, train.height, train.width, { cols: 4, pad: 2 });
      const figure = sideBySide([grid(pairs.generated), grid(pairs.train)], 8);
      writer.write('--pairs', options.pairs, encodePng(figure.width, figure.height, figure.pixels));
    }
    return { report: full, table: formatReport(full, test.count, classifierFile.metadata.test_accuracy), files: writer.written };
  } finally {
    G.dispose();
    classifier.dispose();
  }
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

export function formatReport(r: EvaluateResult['report'], testCount: number, classifierAccuracy?: string): string {
  const row = (name: string, generated: string, reference = '', note = '') =>
    `${name.padEnd(34)}${generated.padStart(12)}${reference.padStart(14)}${note ? `  ${note}` : ''}`;
  const m = r.memorization;
  const accuracy = classifierAccuracy ? ` (test accuracy ${(100 * Number(classifierAccuracy)).toFixed(2)}%)` : '';
  const histogram = r.class_histogram.map((c, i) => `${FASHION_MNIST_CLASSES[i]} ${c}`).join(', ');
  return [
    `${r.checkpoint} (${r.weights === 'average' ? 'moving average of the weights' : 'trained weights'}): ${r.n.toLocaleString('en-US')} generated images (seed ${r.seed}${r.temperature === 1 ? '' : `, z at temperature ${r.temperature}${r.temperature_from === 'file' ? ', the file\'s own' : ''}`}), classifier ${r.classifier}${accuracy}, ${fixed(r.seconds, 0)} s`,
    '',
    row('measure', 'generated', 'real', 'real = what real images score'),
    row(`FID vs the ${testCount.toLocaleString('en-US')} test images`, fixed(r.fid, 2), fixed(r.fid_floor, 2), `floor: ${r.n} training images`),
    row('FID / floor', fixed(r.fid_ratio, 1)),
    row(`precision (k = ${r.k})`, fixed(r.precision, 3), fixed(r.reference_precision, 3), `real: ${r.n} training vs ${r.n} test images`),
    row(`recall (k = ${r.k})`, fixed(r.recall, 3), fixed(r.reference_recall, 3)),
    row('Inception Score (classifier)', fixed(r.inception_score, 2), fixed(r.inception_score_test, 2), `real: ${r.n} test images`),
    row('class histogram KL from uniform', fixed(r.class_kl, 3), fixed(r.class_kl_test, 3), `nats; max ln 10 = ${Math.log(10).toFixed(3)}`),
    row('nearest training image (L2, [0,1])', '', '', `real: ${r.n} test images`),
    row('  median', fixed(m.generated.median, 3), fixed(m.test.median, 3)),
    row('  1st percentile', fixed(m.generated.p1, 3), fixed(m.test.p1, 3)),
    row('  minimum', fixed(m.generated.min, 3), fixed(m.test.min, 3)),
    row(`  below ${NEAR_COPY_DISTANCE.toFixed(1)}`, `${m.generated.below}`, `${m.test.below}`, `of ${r.n} each`),
    '',
    'by predicted class       precision      real    recall      real',
    ...FASHION_MNIST_CLASSES.map((name, c) => `  ${name.padEnd(20)}${[r.by_class.precision, r.by_class.reference_precision, r.by_class.recall, r.by_class.reference_recall]
      .map((v, i) => fixed(v[c], 3).padStart(i % 2 ? 10 : 11)).join('')}`),
    ...(r.conditional ? conditionalRows(r.conditional) : []),
    '',
    `predicted classes of the generated images: ${histogram}`,
    `FID depends on n (it is biased upward at small n): compare FIDs at the same n, or through the ratio to the floor.`,
  ].join('\n');
}

/** A conditional generator's table: its accuracy against the class asked for, and per class FID, precision, recall. */
function conditionalRows(c: NonNullable<Evaluation['conditional']>): string[] {
  const b = c.by_class;
  return [
    '',
    `conditional accuracy (the classifier's class = the class asked for): ${fixed(c.accuracy, 3)} over ${b.n.reduce((x, y) => x + y, 0)} images, ${c.classes} classes in turn`,
    'by class asked for            n  accuracy       FID  precision    recall   (vs the test images of that class)',
    ...b.n.map((count, i) => `  ${(FASHION_MNIST_CLASSES[i] ?? String(i)).padEnd(20)}${String(count).padStart(9)}${fixed(b.accuracy[i], 3).padStart(10)}` +
      `${fixed(b.fid[i], 2).padStart(10)}${fixed(b.precision[i], 3).padStart(11)}${fixed(b.recall[i], 3).padStart(10)}`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { table, files } = await evaluate(process.argv.slice(2), undefined, (line) => console.error(`… ${line}`));
    console.log(table);
    if (files.length) console.log(`wrote ${files.join(', ')}`);
    return 0;
  });
}
