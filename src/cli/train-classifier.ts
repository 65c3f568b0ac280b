// `npm run train-classifier`: the feature classifier behind `npm run evaluate`, trained on the Fashion-MNIST
// training images and measured on the test images. Writes the weights and, beside them, a JSON record of how
// they were made.
import { extname } from 'node:path';
import type { Engine } from '../runtime/engine.js';
import { tensor } from '../tensor/ops/create.js';
import { tidy, backward } from '../tensor/autograd.js';
import { setRngState } from '../tensor/state.js';
import { softmaxCrossEntropy } from '../tensor/ops/loss.js';
import { Adam } from '../nn/adam.js';
import { DEFAULT_DATA_DIR } from '../data/fashion-mnist.js';
import { loadFashionMnist } from '../node/mnist-files.js';
import { Batcher } from '../data/batches.js';
import { FeatureClassifier, classifierState, CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, CLASSIFIER_FORMAT } from '../gan/classifier.js';
import { summary } from '../gan/models.js';
import { classifyImages, accuracy } from '../gan/features.js';
import { encodeSafetensors } from '../io/safetensors.js';
import { classifierStepTooLarge } from '../gan/classifier-memory.js';
import { bufferLimit, formatBytes } from '../gan/step-memory.js';
import { createNodeEngine } from '../node/gpu.js';
import { parse, num, str, runCli, HelpRequest, UsageError, optionalNum } from '../node/args.js';
import { checkOutputs, OutputWriter } from '../node/outputs.js';
import { Progress, bar, duration } from '../node/progress.js';
import { TrainingError } from '../gan/errors.js';
import { DEFAULT_CLASSIFIER } from '../node/classifier-file.js';

export { DEFAULT_CLASSIFIER };

export const TRAIN_CLASSIFIER_USAGE = `usage: npm run train-classifier -- [options]
  --epochs N        epochs over the training images (default 15)
  --batch-size N    images per step (default 128)
  --lr X            Adam's initial learning rate, decayed along a cosine to 0 (default 1e-3)
  --seed N          seeds the weights, dropout and shuffling (default 0)
  --limit N         train on the first N training images only (for quick checks)
  --data DIR        folder with the four Fashion-MNIST IDX files (default ${DEFAULT_DATA_DIR})
  --out FILE        the weights (default ${DEFAULT_CLASSIFIER}); FILE with .json is the record of the run`;

export interface ClassifierOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  limit?: number;
  data: string;
  out: string;
}

export function parseClassifierOptions(argv: string[]): ClassifierOptions {
  const v = parse(argv, {
    epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' },
    limit: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, TRAIN_CLASSIFIER_USAGE);
  if (v.help) throw new HelpRequest(TRAIN_CLASSIFIER_USAGE);
  const out = str(v, 'out') ?? DEFAULT_CLASSIFIER;
  if (extname(out) === '.json') {
    throw new UsageError(`--out ${out}: the record of the run is written beside the weights as ${recordPath(out)}, so the weights need another extension; use --out ${recordPath(out).slice(0, -5)}.safetensors`);
  }
  return {
    epochs: num(v, 'epochs', 15, { int: true, min: 1 }),
    batchSize: num(v, 'batch-size', 128, { int: true, min: 2, max: 4096 }),
    lr: num(v, 'lr', 1e-3, { minExclusive: 0, max: 1 }),
    seed: num(v, 'seed', 0, { int: true, min: 0, max: 2 ** 32 - 1 }),
    limit: optionalNum(v, 'limit', { int: true, min: 1 }),
    data: str(v, 'data') ?? DEFAULT_DATA_DIR,
    out,
  };
}

export interface ClassifierRecord {
  command: string;
  epochs: number;
  batch_size: number;
  lr: number;
  seed: number;
  train_images: number;
  test_images: number;
  test_accuracy: number;
  /** Test accuracy after each epoch. */
  history: { epoch: number; loss: number; test_accuracy: number; seconds: number }[];
  wall_seconds: number;
  adapter: string;
  date: string;
  features: number;
}

export interface ClassifierHooks {
  engine?: Engine;
  log?: (line: string) => void;
  progress?: Progress;
}

/** Replaces the extension of `path` (or appends one). */
export function recordPath(path: string): string {
  return `${path.slice(0, path.length - extname(path).length)}.json`;
}

export async function trainClassifier(argv: string[], hooks: ClassifierHooks = {}): Promise<ClassifierRecord> {
  const options = parseClassifierOptions(argv);
  const log = hooks.log ?? ((line: string) => console.log(line));
  const progress = hooks.progress ?? new Progress();
  const started = performance.now();
  const train = loadFashionMnist({ dir: options.data, split: 'train', limit: options.limit });
  const test = loadFashionMnist({ dir: options.data, split: 'test' });
  const batcher = new Batcher({ images: train.images, labels: train.labels, count: train.count, itemSize: train.height * train.width }, options.batchSize, { seed: options.seed });

  const engine = hooks.engine ?? (await createNodeEngine());
  refuseImpossibleBatch(options.batchSize, engine);
  // Both outputs are checked before training: a bad path is refused now, not after the last epoch.
  checkOutputs({ files: [{ flag: '--out', path: options.out }, { flag: "--out's record", path: recordPath(options.out) }] });
  setRngState(engine, { seed: options.seed, counter: 0 });
  const model = new FeatureClassifier(engine);
  const optimizer = new Adam(engine, model.parameters(), { lr: options.lr });
  const totalSteps = options.epochs * batcher.batchesPerEpoch;
  log(`atelier feature classifier — adapter: ${engine.adapterName}`);
  log(summary('Classifier', model));
  log(`data: ${train.count.toLocaleString('en-US')} training images, ${batcher.batchesPerEpoch} batches of ${options.batchSize} per epoch; ` +
    `${test.count.toLocaleString('en-US')} test images`);

  const record: ClassifierRecord = {
    command: ['npm run train-classifier --', ...argv].join(' ').replace(/ --$/, ''),
    epochs: options.epochs, batch_size: options.batchSize, lr: options.lr, seed: options.seed,
    train_images: train.count, test_images: test.count, test_accuracy: 0, history: [], wall_seconds: 0,
    adapter: engine.adapterName, date: new Date().toISOString(), features: CLASSIFIER_FEATURES,
  };
  const targets = new Float32Array(options.batchSize * CLASSIFIER_CLASSES);
  let step = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const epochStarted = performance.now();
      let lossSum = 0;
      model.train();
      for (const batch of batcher.epochBatches()) {
        // Cosine decay of the learning rate to 0 over the whole run (Adam reads it at every update).
        optimizer.lr = options.lr * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
        targets.fill(0);
        batch.labels.forEach((label, i) => (targets[i * CLASSIFIER_CLASSES + label] = 1));
        const loss = tidy(engine, () => {
          const x = tensor(engine, batch.images, [options.batchSize, 1, train.height, train.width]);
          const l = softmaxCrossEntropy(model.forward(x), tensor(engine, targets, [options.batchSize, CLASSIFIER_CLASSES]));
          backward(l);
          optimizer.update();
          return l;
        });
        const value = await loss.item();
        loss.dispose();
        if (!Number.isFinite(value)) throw new TrainingError(`classifier training diverged: the loss became ${value} at epoch ${epoch + 1}; lower --lr`);
        lossSum += value;
        step++;
        const seconds = (performance.now() - epochStarted) / 1000;
        const left = (seconds / (batch.index + 1)) * (totalSteps - step);
        progress.update(`epoch ${epoch + 1}/${options.epochs} ${bar((batch.index + 1) / batcher.batchesPerEpoch)} ${batch.index + 1}/${batcher.batchesPerEpoch} ` +
          `| loss ${(lossSum / (batch.index + 1)).toFixed(4)} | ETA ${duration(left)}`);
      }
      const outputs = await classifyImages(engine, model, test.images, test.count);
      const testAccuracy = accuracy(outputs.logits, test.labels);
      const line = { epoch: epoch + 1, loss: lossSum / batcher.batchesPerEpoch, test_accuracy: testAccuracy, seconds: (performance.now() - epochStarted) / 1000 };
      record.history.push(line);
      record.test_accuracy = testAccuracy;
      progress.line(`epoch ${line.epoch}/${options.epochs}: loss ${line.loss.toFixed(4)}, test accuracy ${(100 * testAccuracy).toFixed(2)}%, ${line.seconds.toFixed(1)} s`);
    }
    record.wall_seconds = Math.round((performance.now() - started) / 1000);
    const writer = new OutputWriter();
    writer.write('--out', options.out, encodeSafetensors(await classifierState(model), {
      format: CLASSIFIER_FORMAT, features: String(CLASSIFIER_FEATURES), test_accuracy: String(record.test_accuracy), command: record.command,
    }));
    writer.write("--out's record", recordPath(options.out), JSON.stringify(record, null, 2) + '\n');
    log(`test accuracy ${(100 * record.test_accuracy).toFixed(2)}% after ${options.epochs} epochs, ${duration(record.wall_seconds)}; wrote ${options.out} and ${recordPath(options.out)}`);
    return record;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** Refuses, before anything is created, a batch size whose training step needs a buffer the device cannot hold. */
function refuseImpossibleBatch(batchSize: number, engine: Engine): void {
  const limits = engine.device.limits;
  const limit = bufferLimit(limits);
  const tooLarge = classifierStepTooLarge(batchSize, limit);
  if (!tooLarge) return;
  throw new UsageError(`--batch-size ${batchSize} needs a ${formatBytes(tooLarge.buffer.bytes)} buffer (${tooLarge.buffer.what}), more than the ` +
    `${formatBytes(limit)} this device allows per buffer (maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, ` +
    `maxBufferSize ${limits.maxBufferSize}); use --batch-size ${tooLarge.largestBatch} or less`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    await trainClassifier(process.argv.slice(2));
    return 0;
  });
}
