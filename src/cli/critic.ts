// `npm run critic`: how far a generator's images are from real ones as a fresh discriminator sees them, and
// whether rejecting the ones it calls fake helps. A critic (the reference discriminator's architecture) is
// trained against the frozen generator on the training images; then
//   - the classifier two-sample test (Lopez-Paz & Oquab 2017): its accuracy on held-out real test images and
//     fresh generated ones — 0.5 when it cannot tell them apart;
//   - discriminator rejection sampling (Azadi et al. 2019): FID / floor, precision and recall of the images it
//     accepts, for ceilings at quantiles of its logits, beside the same measures without rejection (the first
//     row, on the same z as `npm run evaluate` at the same seed, so the two agree).
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Sequential } from '../nn/layers.js';
import { tensor, randn } from '../tensor/ops/create.js';
import { loadFashionMnist, DEFAULT_DATA_DIR } from '../data/fashion-mnist.js';
import { Batcher, Prng } from '../data/batches.js';
import { loadClassifier, CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, type FeatureClassifier } from '../gan/classifier.js';
import { classifyImages, classifyBatch } from '../gan/features.js';
import { gaussianStats, frechetDistance, manifoldMembership, fractionSet, classHistogram, klFromUniform } from '../gan/quality.js';
import { gpuNeighbourSearch } from '../gan/nearest.js';
import { CriticTrainer, criticLogits } from '../gan/critic.js';
import { ceilingAt, acceptCandidates } from '../gan/rejection.js';
import { generate } from '../gan/trainer.js';
import { readSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { createNodeEngine } from '../node/gpu.js';
import { loadGenerator } from './generate.js';
import { DEFAULT_CLASSIFIER, readClassifierFile } from './classifier-file.js';
import { sampleImages, trainSampleSeed } from './evaluate.js';
import { parse, num, str, runCli, HelpRequest, UsageError } from './args.js';
import { Progress, bar, duration } from './progress.js';
import { TrainingError } from './train.js';

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
  --json FILE         also write the results as JSON
  --trained           use the last step's weights even when the checkpoint has a moving average (--ema)`;

/** Candidates drawn per rejection row before giving up, as a multiple of n. */
const MAX_CANDIDATES_PER_N = 20;
const BATCH = 250;

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
  json?: string;
  trained: boolean;
}

export function parseCriticOptions(argv: string[]): CriticCommandOptions {
  const v = parse(argv, {
    checkpoint: { type: 'string' }, steps: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, n: { type: 'string' },
    quantiles: { type: 'string' }, classifier: { type: 'string' }, data: { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' },
    trained: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, CRITIC_USAGE);
  if (v.help) throw new HelpRequest(CRITIC_USAGE);
  const checkpoint = str(v, 'checkpoint');
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

// z streams, kept apart: the critic's training, the two-sample test's generated images, and the candidates
// (the last on `npm run evaluate`'s stream, so the row without rejection is its measurement).
const criticSeed = (seed: number) => (seed ^ 0xc417) >>> 0;
const heldOutSeed = (seed: number) => (seed ^ 0x2ca7) >>> 0;

export async function critic(argv: string[], engine?: Engine, log: (line: string) => void = () => undefined, progress = new Progress()): Promise<{ report: CriticReport; table: string }> {
  const options = parseCriticOptions(argv);
  const { n, seed } = options;
  const started = performance.now();
  const checkpoint = readSafetensors(options.checkpoint);
  const classifierFile = readClassifierFile(options.classifier);
  const test = loadFashionMnist({ dir: options.data, split: 'test' });
  const train = loadFashionMnist({ dir: options.data, split: 'train' });
  if (n > test.count) throw new UsageError(`--n ${n}: more than the ${test.count.toLocaleString('en-US')} test images`);
  if (n > train.count) throw new UsageError(`--n ${n}: more than the ${train.count} training images the FID floor needs`);
  if (options.batchSize > train.count) throw new UsageError(`--batch-size ${options.batchSize}: more than the ${train.count} training images`);
  const { height, width } = test;
  const gpu = engine ?? (await createNodeEngine());
  const { G, latentDim, weights } = loadGenerator(gpu, options.checkpoint, checkpoint, { trained: options.trained });
  const trainer = new CriticTrainer(gpu, G, latentDim, { lr: options.lr, seed: criticSeed(seed) });
  let classifier: FeatureClassifier | undefined;
  try {
    const loaded = loadClassifier(gpu, classifierFile.tensors, options.classifier);
    classifier = loaded;
    // 1. The critic.
    const batcher = new Batcher({ images: train.images, labels: train.labels, count: train.count, itemSize: height * width }, options.batchSize, { seed: criticSeed(seed) });
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
    const realLogits = await logitsOfImages(gpu, trainer, testSample.images, n, height, width);
    const heldOut = await generatedLogits(gpu, trainer, G, latentDim, n, heldOutSeed(seed));
    let right = 0;
    for (const l of realLogits) if (l > 0) right++;
    for (const l of heldOut) if (l < 0) right++;
    const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;

    // 3. Rejection sampling, measured as `npm run evaluate` measures.
    log('rejection sampling');
    const features = async (images: Float32Array, count: number) => (await classifyImages(gpu, loaded, images, count, { height, width })).features;
    const dim = CLASSIFIER_FEATURES;
    const testStats = gaussianStats(await features(test.images, test.count), test.count, dim);
    const realFeatures = await features(testSample.images, n);
    const floor = frechetDistance(gaussianStats(await features(sampleImages(train, n, trainSampleSeed(seed)).images, n), n, dim), testStats);
    const search = gpuNeighbourSearch(gpu);
    const pool = new CandidatePool(gpu, trainer, G, loaded, latentDim, seed, n * MAX_CANDIDATES_PER_N);
    const rows: RejectionRow[] = [];
    for (const q of [null, ...options.quantiles]) {
      const ceiling = q === null ? null : ceilingAt(heldOut, q);
      const picked = q === null ? await pool.first(n) : await pool.accept(n, ceiling!, new Prng((seed ^ Math.round(q * 1e6)) >>> 0));
      if (!picked) {
        log(`quantile ${q}: fewer than ${n} of ${pool.max} candidates accepted; row left out`);
        continue;
      }
      const f = new Float32Array(n * dim);
      const logits = new Float32Array(n * CLASSIFIER_CLASSES);
      picked.indices.forEach((c, j) => {
        f.set(pool.features.subarray(c * dim, (c + 1) * dim), j * dim);
        logits.set(pool.classLogits.subarray(c * CLASSIFIER_CLASSES, (c + 1) * CLASSIFIER_CLASSES), j * CLASSIFIER_CLASSES);
      });
      const fid = frechetDistance(gaussianStats(f, n, dim), testStats);
      const pr = await manifoldMembership(realFeatures, f, dim, { k: 3, search });
      rows.push({
        quantile: q, ceiling, candidates: picked.candidates, acceptance: n / picked.candidates, fid, fid_ratio: fid / floor,
        precision: fractionSet(pr.generatedInReal), recall: fractionSet(pr.realInGenerated), class_kl: klFromUniform(classHistogram(logits, CLASSIFIER_CLASSES)),
      });
    }
    const report: CriticReport = {
      checkpoint: options.checkpoint, weights, steps: options.steps, batch_size: options.batchSize, final_loss: finalLoss, n, seed,
      two_sample_accuracy: right / (2 * n), mean_logit_real: mean(realLogits), mean_logit_generated: mean(heldOut), floor, rows,
      seconds: (performance.now() - started) / 1000, adapter: gpu.adapterName, date: new Date().toISOString(),
    };
    if (options.json) writeFileAtomic(options.json, JSON.stringify(report, null, 2) + '\n');
    return { report, table: formatCriticReport(report) };
  } finally {
    trainer.dispose();
    classifier?.dispose();
    G.dispose();
  }
}

async function logitsOfImages(engine: Engine, trainer: CriticTrainer, images: Float32Array, count: number, height: number, width: number): Promise<Float32Array> {
  const out = new Float32Array(count);
  const pixels = height * width;
  for (let start = 0; start < count; start += BATCH) {
    const m = Math.min(BATCH, count - start);
    const x = tensor(engine, images.subarray(start * pixels, (start + m) * pixels), [m, 1, height, width]);
    out.set(await readLogits(engine, trainer, x), start);
    x.dispose();
  }
  return out;
}

async function generatedLogits(engine: Engine, trainer: CriticTrainer, G: Sequential, latentDim: number, count: number, seed: number): Promise<Float32Array> {
  const out = new Float32Array(count);
  for (let start = 0, b = 0; start < count; start += BATCH, b++) {
    const images = generateBatch(engine, G, latentDim, Math.min(BATCH, count - start), seed, b);
    out.set(await readLogits(engine, trainer, images), start);
    images.dispose();
  }
  return out;
}

function generateBatch(engine: Engine, G: Sequential, latentDim: number, count: number, seed: number, batch: number): Tensor {
  const z = randn(engine, [count, latentDim, 1, 1], 0, 1, { key: { seed, counter: batch } });
  try {
    return generate(engine, G, z);
  } finally {
    z.dispose();
  }
}

async function readLogits(engine: Engine, trainer: CriticTrainer, images: Tensor): Promise<Float32Array> {
  const logits = criticLogits(engine, trainer.critic, images);
  try {
    return await logits.toArray();
  } finally {
    logits.dispose();
  }
}

/**
 * Generated images on `npm run evaluate`'s z stream, drawn in batches as the rows ask for more, keeping each
 * one's critic logit, classifier features and class logits (not its pixels).
 */
class CandidatePool {
  count = 0;
  criticLogits: Float32Array;
  features: Float32Array;
  classLogits: Float32Array;

  constructor(
    private readonly engine: Engine, private readonly trainer: CriticTrainer, private readonly G: Sequential,
    private readonly classifier: FeatureClassifier, private readonly latentDim: number,
    private readonly seed: number, readonly max: number,
  ) {
    this.criticLogits = new Float32Array(0);
    this.features = new Float32Array(0);
    this.classLogits = new Float32Array(0);
  }

  /** Draws batches until at least `count` candidates exist (or `max`); false when `max` is reached first. */
  private async ensure(count: number): Promise<boolean> {
    while (this.count < count && this.count < this.max) {
      const m = Math.min(BATCH, this.max - this.count);
      const images = generateBatch(this.engine, this.G, this.latentDim, m, this.seed, this.count / BATCH);
      try {
        const [critic, classified] = [await readLogits(this.engine, this.trainer, images), await classifyBatch(this.engine, this.classifier, images)];
        this.criticLogits = grow(this.criticLogits, critic, this.count);
        this.features = grow(this.features, classified.features, this.count * CLASSIFIER_FEATURES);
        this.classLogits = grow(this.classLogits, classified.logits, this.count * CLASSIFIER_CLASSES);
        this.count += m;
      } finally {
        images.dispose();
      }
    }
    return this.count >= count;
  }

  async first(n: number): Promise<{ indices: number[]; candidates: number } | null> {
    if (!(await this.ensure(n))) return null;
    return { indices: Array.from({ length: n }, (_, i) => i), candidates: n };
  }

  /** The first n candidates accepted with probability min(1, exp(logit − ceiling)), in order. */
  async accept(n: number, ceiling: number, rng: Prng): Promise<{ indices: number[]; candidates: number } | null> {
    const indices: number[] = [];
    for (let seen = 0; indices.length < n; seen += BATCH) {
      if (!(await this.ensure(seen + 1))) return null;
      const end = Math.min(seen + BATCH, this.count);
      for (const i of acceptCandidates(this.criticLogits.subarray(seen, end), ceiling, rng)) {
        if (indices.length < n) indices.push(seen + i);
      }
    }
    return { indices, candidates: indices[n - 1] + 1 };
  }
}

/** `into` with `values` written at `offset`, reallocated (doubling) when too small. */
function grow(into: Float32Array, values: Float32Array, offset: number): Float32Array {
  let out = into;
  if (offset + values.length > into.length) {
    out = new Float32Array(Math.max(offset + values.length, 2 * into.length));
    out.set(into.subarray(0, offset));
  }
  out.set(values, offset);
  return out;
}

export function formatCriticReport(r: CriticReport): string {
  const line = (cells: string[]) => `${cells[0].padEnd(22)}${cells.slice(1).map((c) => c.padStart(12)).join('')}`;
  return [
    `${r.checkpoint} (${r.weights === 'average' ? 'moving average of the weights' : 'trained weights'}): critic trained ${r.steps} steps of ${r.batch_size} + ${r.batch_size} images (final loss ${r.final_loss.toFixed(4)}), ${Math.round(r.seconds)} s, ${r.adapter}`,
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
