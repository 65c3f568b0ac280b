// `npm run critic`: how far a generator's images are from real ones as a fresh discriminator sees them, and
// whether rejecting the ones it calls fake helps. A critic (the reference discriminator's architecture) is
// trained against the frozen generator on the training images; then
//   - the classifier two-sample test (Lopez-Paz & Oquab 2017): its accuracy on held-out real test images and
//     fresh generated ones — 0.5 when it cannot tell them apart;
//   - discriminator rejection sampling (Azadi et al. 2019): FID / floor, precision and recall of the images it
//     accepts, for ceilings at quantiles of its logits, beside the same measures without rejection (the first
//     row, on the same z as `npm run evaluate` at the same seed, so the two agree).
import type { Engine } from '../runtime/engine.js';
import { tensor } from '../tensor/ops/create.js';
import { DEFAULT_DATA_DIR } from '../data/fashion-mnist.js';
import { loadFashionMnist } from '../node/mnist-files.js';
import { Batcher, Prng } from '../data/batches.js';
import { loadClassifier, CLASSIFIER_FEATURES, CLASSIFIER_CLASSES, type FeatureClassifier } from '../gan/classifier.js';
import { classifyImages } from '../gan/features.js';
import { gaussianStats, frechetDistance, manifoldMembership, fractionSet, classHistogram, klFromUniform } from '../gan/quality.js';
import { gpuNeighbourSearch } from '../gan/nearest.js';
import { CriticTrainer } from '../gan/critic.js';
import { CandidatePool } from '../gan/candidates.js';
import { twoSampleTest } from '../gan/two-sample.js';
import { ceilingAt } from '../gan/rejection.js';
import { sampleImages, trainSampleSeed } from '../gan/real-samples.js';
import { streamSeed } from '../gan/streams.js';
import { dcganBytesPerImage } from '../gan/sampling.js';
import { DEFAULT_WIDTH } from '../gan/models.js';
import { TrainingError } from '../gan/errors.js';
import { readSafetensors } from '../io/safetensors.js';
import { createNodeEngine } from '../node/gpu.js';
import { loadGenerator } from '../node/load-generator.js';
import { inspectGeneratorState } from '../gan/generator-state.js';
import { readModelSpec } from '../gan/model-spec.js';
import { readSamplingTemperature, MAX_TEMPERATURE } from '../gan/sampling-temperature.js';
import { DEFAULT_CLASSIFIER, readClassifierFile } from '../node/classifier-file.js';
import { parse, num, str, runCli, HelpRequest, UsageError, optionalNum } from '../node/args.js';
import { checkOutputs, OutputWriter } from '../node/outputs.js';
import { Progress, bar, duration } from '../node/progress.js';
import { checkpointOf } from '../node/run-folder.js';

export const CRITIC_USAGE = `usage: npm run critic -- --checkpoint FILE [options]
  --checkpoint FILE   a training checkpoint or a generator file
  --steps N           critic updates (default 1500; each on a batch of real and as many generated images)
  --batch-size N      real images per update (default 128)
  --lr X              the critic's Adam learning rate (default 2e-4)
  --n N               held-out real and generated images for the two-sample test, and accepted images per
                      rejection row, at most the 10,000 test images (default 10000)
  --quantiles LIST    rejection ceilings, as quantiles of the critic's logits on generated images
                      (default 0.5,0.75,0.9; comma-separated, each in (0, 1])
  --classifier FILE   the feature classifier (default ${DEFAULT_CLASSIFIER})
  --data DIR          folder with the four Fashion-MNIST IDX files (default ${DEFAULT_DATA_DIR})
  --seed S            seeds the critic, z and the choice of real images (default 0)
  --temperature T     standard deviation of G's z (default the file's own, as npm run evaluate; 1 for most files)
  --json FILE         also write the results as JSON
  --trained           use the last step's weights even when the checkpoint has a moving average (--ema)`;

/** Candidates drawn per rejection row before giving up, as a multiple of n. */
const MAX_CANDIDATES_PER_N = 20;

export interface CriticCommandOptions {
  checkpoint: string;
  steps: number;
  batchSize: number;
  lr: number;
  n: number;
  quantiles: number[];
  classifier: string;
  data: string;
  seed: number;
  /** Undefined: the file's own (readSamplingTemperature). */
  temperature?: number;
  json?: string;
  trained: boolean;
}

export function parseCriticOptions(argv: string[]): CriticCommandOptions {
  const v = parse(argv, {
    checkpoint: { type: 'string' }, steps: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, n: { type: 'string' },
    quantiles: { type: 'string' }, classifier: { type: 'string' }, data: { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' },
    temperature: { type: 'string' }, trained: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, CRITIC_USAGE);
  if (v.help) throw new HelpRequest(CRITIC_USAGE);
  const checkpoint = checkpointOf(str(v, 'checkpoint'));
  if (!checkpoint) throw new UsageError(`--checkpoint FILE is required\n\n${CRITIC_USAGE}`);
  const quantiles = (str(v, 'quantiles') ?? '0.5,0.75,0.9').split(',').map((s) => {
    const q = Number(s);
    if (s.trim() === '' || !(q > 0 && q <= 1)) throw new UsageError(`--quantiles: "${s}" is not a number in (0, 1]`);
    return q;
  });
  return {
    checkpoint,
    steps: num(v, 'steps', 1500, { int: true, min: 1 }),
    batchSize: num(v, 'batch-size', 128, { int: true, min: 2, max: 4096 }),
    lr: num(v, 'lr', 2e-4, { minExclusive: 0, max: 1 }),
    n: num(v, 'n', 10000, { int: true, min: 10 }),
    quantiles,
    classifier: str(v, 'classifier') ?? DEFAULT_CLASSIFIER,
    data: str(v, 'data') ?? DEFAULT_DATA_DIR,
    seed: num(v, 'seed', 0, { int: true, min: 0, max: 2 ** 32 - 1 }),
    temperature: optionalNum(v, 'temperature', { minExclusive: 0, max: MAX_TEMPERATURE }),
    json: str(v, 'json'),
    trained: Boolean(v.trained),
  };
}

export interface RejectionRow {
  /** null for the row without rejection. */
  quantile: number | null;
  ceiling: number | null;
  candidates: number;
  acceptance: number;
  fid: number;
  fid_ratio: number;
  precision: number;
  recall: number;
  class_kl: number;
}

export interface CriticReport {
  checkpoint: string;
  weights: 'average' | 'trained';
  steps: number;
  batch_size: number;
  /** Mean critic loss (BCE, real and generated) over the last tenth of the steps. */
  final_loss: number;
  n: number;
  seed: number;
  /** The standard deviation of G's z. */
  temperature: number;
  /** The classifier two-sample test: accuracy on n held-out real and n fresh generated images. */
  two_sample_accuracy: number;
  mean_logit_real: number;
  mean_logit_generated: number;
  floor: number;
  rows: RejectionRow[];
  seconds: number;
  adapter: string;
  date: string;
}

// Streams, kept apart (streamSeed): the critic's weights, its z and its batches; the two-sample test's generated
// images; each rejection row's decisions. The candidates are on `npm run evaluate`'s z stream, keys (seed, b), so
// that the row without rejection is its measurement.
export async function critic(argv: string[], engine?: Engine, log: (line: string) => void = () => undefined, progress = new Progress()): Promise<{ report: CriticReport; table: string }> {
  const options = parseCriticOptions(argv);
  const { n, seed } = options;
  const started = performance.now();
  const checkpoint = readSafetensors(options.checkpoint);
  inspectGeneratorState(checkpoint.tensors, options.checkpoint, { trained: options.trained }, readModelSpec(checkpoint.metadata, options.checkpoint));
  const temperature = options.temperature ?? readSamplingTemperature(checkpoint.metadata, options.checkpoint);
  const classifierFile = readClassifierFile(options.classifier);
  const test = loadFashionMnist({ dir: options.data, split: 'test' });
  const train = loadFashionMnist({ dir: options.data, split: 'train' });
  if (n > test.count) throw new UsageError(`--n ${n}: more than the ${test.count.toLocaleString('en-US')} test images`);
  if (n > train.count) throw new UsageError(`--n ${n}: more than the ${train.count} training images the FID floor needs`);
  if (options.batchSize > train.count) throw new UsageError(`--batch-size ${options.batchSize}: more than the ${train.count} training images`);
  const { height, width } = test;
  const gpu = engine ?? (await createNodeEngine());
  // A training step runs 2·batch images through the critic at once: refuse a batch whose widest buffer cannot fit.
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  const maxBatch = Math.floor(limit / dcganBytesPerImage(DEFAULT_WIDTH) / 2);
  if (options.batchSize > maxBatch) {
    throw new UsageError(`--batch-size ${options.batchSize}: a critic step on ${2 * options.batchSize} images needs ${2 * options.batchSize * dcganBytesPerImage(DEFAULT_WIDTH)} bytes in one buffer, ` +
      `more than this device's ${limit} (maxStorageBufferBindingSize); use --batch-size ${maxBatch} or less`);
  }
  // Every output is checked before the critic trains: a bad path is refused now, not after the measurement.
  checkOutputs({
    files: options.json ? [{ flag: '--json', path: options.json }] : [],
    inputs: [{ flag: '--checkpoint', path: options.checkpoint }, { flag: '--classifier', path: options.classifier }],
  });
  const { G, latentDim, weights } = loadGenerator(gpu, options.checkpoint, checkpoint, { trained: options.trained });
  const trainer = new CriticTrainer(gpu, G, latentDim, { lr: options.lr, seed, temperature });
  let classifier: FeatureClassifier | undefined;
  try {
    const loaded = loadClassifier(gpu, classifierFile.tensors, options.classifier);
    classifier = loaded;
    // 1. The critic.
    const batcher = new Batcher({ images: train.images, labels: train.labels, count: train.count, itemSize: height * width }, options.batchSize, { seed: streamSeed(seed, 'critic.batches') });
    const lastLosses: number[] = [];
    let step = 0;
    while (step < options.steps) {
      for (const batch of batcher.epochBatches()) {
        const real = tensor(gpu, batch.images, [options.batchSize, 1, height, width]);
        const lossTensor = trainer.step(real);
        const loss = (await lossTensor.toArray())[0];
        real.dispose();
        lossTensor.dispose();
        if (!Number.isFinite(loss)) throw new TrainingError(`the critic's loss became ${loss} at step ${step + 1}; lower --lr`);
        step++;
        if (step > options.steps * 0.9) lastLosses.push(loss);
        progress.update(`critic ${bar(step / options.steps)} ${step}/${options.steps} | loss ${loss.toFixed(4)}`);
        if (step >= options.steps) break;
      }
    }
    const finalLoss = lastLosses.reduce((a, b) => a + b, 0) / lastLosses.length;
    progress.line(`critic: ${options.steps} steps, final loss ${finalLoss.toFixed(4)}, ${duration((performance.now() - started) / 1000)}`);

    // 2. The two-sample test, on images the critic never saw.
    const testSample = sampleImages(test, n, seed);
    const twoSample = await twoSampleTest(gpu, trainer.critic, G, latentDim, { ...testSample, height, width }, { seed: streamSeed(seed, 'critic.held-out'), temperature });
    const heldOut = twoSample.generatedLogits;

    // 3. Rejection sampling, measured as `npm run evaluate` measures.
    log('rejection sampling');
    const features = async (images: Float32Array, count: number) => (await classifyImages(gpu, loaded, images, count, { height, width })).features;
    const dim = CLASSIFIER_FEATURES;
    const testStats = gaussianStats(await features(test.images, test.count), test.count, dim);
    const realFeatures = await features(testSample.images, n);
    const floor = frechetDistance(gaussianStats(await features(sampleImages(train, n, trainSampleSeed(seed)).images, n), n, dim), testStats);
    const search = gpuNeighbourSearch(gpu);
    const pool = new CandidatePool(gpu, trainer.critic, G, loaded, latentDim, { seed, temperature }, n * MAX_CANDIDATES_PER_N);
    const rows: RejectionRow[] = [];
    for (const q of [null, ...options.quantiles]) {
      const ceiling = q === null ? null : ceilingAt(heldOut, q);
      const picked = q === null ? await pool.first(n) : await pool.accept(n, ceiling!, new Prng(streamSeed(seed, `critic.accept.${q}`)));
      if (!picked) {
        log(`quantile ${q}: fewer than ${n} of ${pool.max} candidates accepted; row left out`);
        continue;
      }
      const { features: f, classLogits: logits } = pool.gather(picked);
      const fid = frechetDistance(gaussianStats(f, n, dim), testStats);
      const pr = await manifoldMembership(realFeatures, f, dim, { k: 3, search });
      rows.push({
        quantile: q, ceiling, candidates: picked.candidates, acceptance: n / picked.candidates, fid, fid_ratio: fid / floor,
        precision: fractionSet(pr.generatedInReal), recall: fractionSet(pr.realInGenerated), class_kl: klFromUniform(classHistogram(logits, CLASSIFIER_CLASSES)),
      });
    }
    const report: CriticReport = {
      checkpoint: options.checkpoint, weights, steps: options.steps, batch_size: options.batchSize, final_loss: finalLoss, n, seed, temperature,
      two_sample_accuracy: twoSample.accuracy, mean_logit_real: twoSample.meanLogitReal, mean_logit_generated: twoSample.meanLogitGenerated, floor, rows,
      seconds: (performance.now() - started) / 1000, adapter: gpu.adapterName, date: new Date().toISOString(),
    };
    if (options.json) new OutputWriter().write('--json', options.json, JSON.stringify(report, null, 2) + '\n');
    return { report, table: formatCriticReport(report) };
  } finally {
    trainer.dispose();
    classifier?.dispose();
    G.dispose();
  }
}

export function formatCriticReport(r: CriticReport): string {
  const line = (cells: string[]) => `${cells[0].padEnd(22)}${cells.slice(1).map((c) => c.padStart(12)).join('')}`;
  return [
    `${r.checkpoint} (${r.weights === 'average' ? 'moving average of the weights' : 'trained weights'}): critic trained ${r.steps} steps of ${r.batch_size} + ${r.batch_size} images (final loss ${r.final_loss.toFixed(4)})${r.temperature === 1 ? '' : `, z at temperature ${r.temperature}`}, ${Math.round(r.seconds)} s, ${r.adapter}`,
    `two-sample test on ${r.n.toLocaleString('en-US')} held-out real and ${r.n.toLocaleString('en-US')} generated images: accuracy ${r.two_sample_accuracy.toFixed(3)} (0.5: indistinguishable); mean logit ${r.mean_logit_real.toFixed(2)} real, ${r.mean_logit_generated.toFixed(2)} generated`,
    `rejection sampling, ${r.n.toLocaleString('en-US')} accepted images per row (FID floor ${r.floor.toFixed(2)}):`,
    line(['ceiling', 'acceptance', 'FID / floor', 'precision', 'recall', 'class KL']),
    ...r.rows.map((row) => line([
      row.quantile === null ? 'none' : `q ${row.quantile} (${row.ceiling!.toFixed(2)})`, row.acceptance.toFixed(3), `${row.fid_ratio.toFixed(1)}×`,
      row.precision.toFixed(3), row.recall.toFixed(3), row.class_kl.toFixed(3),
    ])),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { table } = await critic(process.argv.slice(2), undefined, (line) => console.log(line));
    console.log(table);
    return 0;
  });
}
