// `npm run train`: the DCGAN on Fashion-MNIST, with sample grids, metrics, loss curve and resumable checkpoints.
// The loop itself is the library's (gan/training-loop.ts); this file parses flags, checks the outputs, reads the
// data, creates the Node engine and writes what the loop reports: checkpoints, PNG grids, metrics.jsonl, loss.png.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../runtime/engine.js';
import { keep } from '../tensor/autograd.js';
import { FASHION_MNIST_CLASSES, type Dataset } from '../data/fashion-mnist.js';
import { loadFashionMnist } from '../node/mnist-files.js';
import { Batcher } from '../data/batches.js';
import { GanTrainer, specOfConfig, type StepStats } from '../gan/trainer.js';
import { summary } from '../gan/models.js';
import { runTraining, emptyTotals, TrainingError, NonFiniteLossError, type TrainingCallbacks, type StopSignal } from '../gan/training-loop.js';
import { stepTooLarge, bufferLimit, formatBytes } from '../gan/step-memory.js';
import { generatorShapes, discriminatorShapes } from '../gan/spec.js';
import { conditionalInput } from '../gan/network.js';
import { drawFixedSamples } from '../gan/fixed-samples.js';
import { createNodeEngine } from '../node/gpu.js';
import { parseTrainOptions, refuseUngroupedBatch, refuseLazyWithoutPenalty, type TrainOptions } from '../node/train-options.js';
import { saveCheckpoint, loadTrainingCheckpoint, resolveCheckpointPath, applyResumeOptions, type LoadedTrainingCheckpoint } from '../node/checkpoint-files.js';
import { refuseExistingRun, prepareRunFolder, removeStaleFiles, clearPreviousRun, truncateMetrics, samePath, latestPath, metricsPath, lossCurvePath, type MetricsLine } from '../node/run-folder.js';
import { writeSampleGrid } from '../node/images.js';
import { lossCurvePng } from '../io/plot.js';
import { withFileErrors } from '../io/fs-errors.js';
import { lockRunFolder } from '../io/run-lock.js';
import { Progress, bar, duration } from '../node/progress.js';
import { runCli, UsageError } from '../node/args.js';
import { readClassifierFile } from '../node/classifier-file.js';
import { createQualityProbe, type QualityProbe } from '../gan/evaluate.js';


export interface TrainHooks {
  engine?: Engine;
  /** Set `requested` (or abort the signal) to stop after the current step (SIGINT/SIGTERM do this in the CLI). */
  stop?: StopSignal;
  log?: (line: string) => void;
  progress?: Progress;
}

export interface TrainResult {
  outDir: string;
  steps: number;
  epochsDone: number;
  stopped: boolean;
}

export async function train(argv: string[], hooks: TrainHooks = {}): Promise<TrainResult> {
  let options: TrainOptions = parseTrainOptions(argv);
  const log = hooks.log ?? ((line: string) => console.log(line));
  const progress = hooks.progress ?? new Progress();
  const stop = hooks.stop ?? { requested: false };

  const resumePath = options.resume ? resolveCheckpointPath(options.resume) : undefined;
  const resumed = resumePath ? loadTrainingCheckpoint(resumePath) : undefined;
  if (resumed) options = applyResumeOptions(options, resumed.options);
  refuseUngroupedBatch(options);
  refuseLazyWithoutPenalty(options);
  if (options.decayEpochs > options.epochs) {
    throw new UsageError(`--decay-epochs ${options.decayEpochs} is more than the ${options.epochs} epochs of this run; decay over at most all of the epochs`);
  }

  // Refuse a missing classifier before training, not at the first evaluation.
  const classifierFile = options.evalEvery ? readClassifierFile(options.classifier) : undefined;
  const testImages = classifierFile ? loadFashionMnist({ dir: options.data, split: 'test' }).images : undefined;

  const data = loadFashionMnist({ dir: options.data, split: 'train', classes: options.classes.length ? options.classes : undefined, limit: options.limit });

  const outDir = options.out ?? resumed?.runDir ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19));
  const resumingHere = resumed !== undefined && samePath(resumed.runDir, outDir);
  refuseExistingRun(outDir, { resumingHere, overwrite: options.overwrite });

  const engine = hooks.engine ?? (await createNodeEngine());
  if (!resumed) options = fitDefaultBatch(options, engine, log);
  refuseImpossibleStep(options, engine);
  const batcher = new Batcher({ images: data.images, labels: data.labels, count: data.count, itemSize: data.height * data.width }, options.batchSize, { seed: options.seed });
  // Every output is checked before any GPU work, and the folder is ours alone until training ends.
  prepareRunFolder(outDir);
  const lock = lockRunFolder(outDir, `--out ${outDir}`);
  try {
    return await trainLocked({ options, resumed, resumePath, engine, data, batcher, outDir, resumingHere, classifierFile, testImages, log, progress, stop });
  } finally {
    lock.release();
  }
}

interface Prepared {
  options: TrainOptions;
  resumed?: LoadedTrainingCheckpoint;
  resumePath?: string;
  engine: Engine;
  data: Dataset;
  batcher: Batcher;
  outDir: string;
  resumingHere: boolean;
  classifierFile?: ReturnType<typeof readClassifierFile>;
  testImages?: Float32Array;
  log: (line: string) => void;
  progress: Progress;
  stop: StopSignal;
}

async function trainLocked(p: Prepared): Promise<TrainResult> {
  const { options, resumed, engine, data, batcher, outDir, log, progress } = p;
  removeStaleFiles(outDir);
  if (options.overwrite && !p.resumingHere) clearPreviousRun(outDir);

  const trainer = new GanTrainer(engine, options, resumed?.spec);
  const conditional = trainer.spec.conditional;
  let { z: fixedZ, labels: fixedLabels } = await drawFixedSamples(engine, options.latentDim, options.seed, conditional);
  let totals = emptyTotals();
  let step = 0;
  if (resumed) {
    const restored = resumed.restore(engine, trainer, batcher);
    fixedZ.dispose();
    fixedZ = restored.fixedZ;
    fixedLabels = restored.fixedLabels;
    totals = restored.totals;
    step = restored.step;
  }
  // G's input for the grids: z, or [z ; onehot(class)] with one row per class.
  const gridInput = conditional ? keep(conditionalInput(engine, fixedZ, fixedLabels!, conditional.classes)) : fixedZ;
  // Records past the checkpoint were never committed: the run makes them again.
  const history = truncateMetrics(metricsPath(outDir), step).filter((l) => l.kind === 'epoch');

  log(`atelier ${options.model}${conditional ? ` (class-conditional: ${conditional.classes} classes, ${conditional.embedding ? `class embedding ${conditional.embedding} concatenated to z` : 'conditional batchnorm'} in G, projection D)` : ''} — adapter: ${engine.adapterName}`);
  log(summary('Generator', trainer.G));
  log(summary('Discriminator', trainer.D));
  const classNames = data.classes.map((c) => FASHION_MNIST_CLASSES[c]).join(', ');
  log(`data: ${data.count.toLocaleString('en-US')} images of ${data.height}×${data.width} from ${options.data} (classes: ${classNames}); ` +
    `${batcher.batchesPerEpoch} batches of ${options.batchSize} per epoch`);
  log(`loss: ${options.loss}${options.modeSeeking ? ` + mode seeking λ ${options.modeSeeking} (G)` : ''}` +
    `${options.r1 ? ` + R1 γ ${options.r1} (D)` : ''}${options.r2 ? ` + R2 γ ${options.r2} (D)` : ''}` +
    `${options.dRegEvery > 1 ? ` on one D step in ${options.dRegEvery}, weighted ${options.dRegEvery}·γ (lazy)` : ''}, Adam lr D ${options.lrD} G ${options.lrG}` +
    (options.decayEpochs ? `, falling linearly to 0 over the last ${options.decayEpochs} of ${options.epochs} epochs` : '') +
    (options.ema ? `; samples from a moving average of G's weights (decay ${options.ema})` : ''));
  log(`output: ${outDir}${resumed ? ` (resumed from ${p.resumePath} at step ${step})` : ''}`);

  // Where a write error leaves the run: the last checkpoint written (or resumed from) is intact.
  let lastGood: { path: string; step: number } | undefined = p.resumePath ? { path: p.resumePath, step } : undefined;
  const intact = () => lastGood
    ? `the last good checkpoint, ${lastGood.path} (step ${lastGood.step}), is intact; fix this and continue with --resume ${outDir}`
    : 'no checkpoint had been written yet';
  const write = <T>(path: string, fn: () => T): T => withFileErrors(path, 'write', fn, intact);

  let probe: QualityProbe | undefined;
  const measureQuality = async () => {
    probe ??= await createQualityProbe(engine, p.classifierFile!.tensors, p.testImages!, { n: Math.min(options.evalN, p.testImages!.length / 784) });
    const q = await probe.measure(trainer.sampler, options.latentDim);
    return { eval_n: q.n, fid: q.fid, class_kl: q.classKl, inception_score: q.inceptionScore };
  };
  const metrics = metricsPath(outDir);
  const appendMetrics = (line: object) => write(metrics, () => appendFileSync(metrics, JSON.stringify(line) + '\n'));
  const grid = (name: string) => {
    const path = join(outDir, 'samples', name);
    return write(path, () => writeSampleGrid(trainer, gridInput, path));
  };
  let epochLine: (MetricsLine & { fid?: number; eval_n?: number; class_kl?: number }) | undefined;

  const callbacks: TrainingCallbacks = {
    onStep: async ({ epoch, batchIndex, batchesPerEpoch, step, stats, seconds, totals }) => {
      const imagesPerSecond = (totals.steps * options.batchSize) / totals.seconds;
      const left = (batchesPerEpoch - batchIndex - 1 + (options.epochs - epoch) * batchesPerEpoch) * (totals.seconds / totals.steps);
      progress.update(`epoch ${epoch}/${options.epochs} ${bar((batchIndex + 1) / batchesPerEpoch)} ` +
        `${batchIndex + 1}/${batchesPerEpoch} | D ${stats.lossD.toFixed(3)} G ${stats.lossG.toFixed(3)} ` +
        `D(x) ${stats.dReal.toFixed(2)} D(G(z)) ${stats.dFake.toFixed(2)} | ${imagesPerSecond.toFixed(1)} img/s | ETA ${duration(left)}`);
      if (options.logEvery && step % options.logEvery === 0) {
        appendMetrics({ kind: 'step', epoch, step, ...stepFields(stats), images_per_s: round1(options.batchSize / seconds) });
      }
      if (options.sampleEvery && step % options.sampleEvery === 0) await grid(`step_${String(step).padStart(6, '0')}.png`);
    },
    // The epoch's records go first; the checkpoint that follows commits them (resume drops lines past it).
    onEpochEnd: async (e) => {
      epochLine = {
        kind: 'epoch', epoch: e.epoch, step: e.step,
        loss_d: e.lossD, loss_g: e.lossG, d_real: e.dReal, d_fake: e.dFake,
        images_per_s: e.imagesPerSecond, seconds: e.seconds,
        ...(options.evalEvery && e.epoch % options.evalEvery === 0 ? await measureQuality() : {}),
      };
      appendMetrics(epochLine);
      history.push(epochLine);
      await grid(`epoch_${String(e.epoch).padStart(3, '0')}.png`);
      write(lossCurvePath(outDir), () => writeLossCurve(lossCurvePath(outDir), history));
    },
    onCheckpoint: async (m) => {
      const path = await write(latestPath(outDir), () =>
        saveCheckpoint(outDir, { engine, trainer, batcher, options, fixedZ, fixedLabels, totals: m.totals, step: m.step, epochsDone: m.epochsDone, perEpoch: m.epochEnd }));
      lastGood = { path: latestPath(outDir), step: m.step };
      if (m.epochEnd && epochLine) {
        const l = epochLine;
        const quality = l.fid !== undefined ? ` | FID ${l.fid.toFixed(2)} (n ${l.eval_n}) class KL ${l.class_kl?.toFixed(4)}` : '';
        progress.line(`epoch ${l.epoch}/${options.epochs}: D ${l.loss_d.toFixed(4)} G ${l.loss_g.toFixed(4)} D(x) ${(l.d_real as number).toFixed(3)} ` +
          `D(G(z)) ${(l.d_fake as number).toFixed(3)} | ${(l.images_per_s as number).toFixed(1)} img/s, ${(l.seconds as number).toFixed(1)} s${quality} | ${path}`);
      }
    },
  };

  try {
    const outcome = await runTraining({
      trainer, batcher, imageShape: [1, data.height, data.width],
      schedule: { epochs: options.epochs, decayEpochs: options.decayEpochs, maxSteps: options.maxSteps },
      resume: { step, totals }, callbacks, stop: p.stop,
    });
    if (outcome.stopped) {
      const why = outcome.stopped === 'requested' ? 'interrupted' : `reached --max-steps ${options.maxSteps}`;
      progress.line(`${why}: checkpoint written to ${latestPath(outDir)}; continue with --resume ${outDir}`);
    }
    return { outDir, steps: outcome.steps, epochsDone: outcome.epochsDone, stopped: outcome.stopped !== null };
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      throw new TrainingError(`${e.message}. The last good checkpoint is ${latestPath(outDir)}; resume from it with lower learning rates (--lr-d, --lr-g).`);
    }
    throw e;
  } finally {
    probe?.dispose();
    if (gridInput !== fixedZ) gridInput.dispose();
    fixedZ.dispose();
    trainer.dispose();
  }
}

/** The largest per-image buffer of a training step for `options` (bytes per image, and whose it is). */
function stepBytesPerImage(options: TrainOptions): { bytes: number; what: string } {
  const spec = specOfConfig(options);
  const g = generatorShapes(spec).bytesPerImage;
  const d = discriminatorShapes(spec).bytesPerImage;
  return g >= d ? { bytes: g, what: "G's largest" } : { bytes: d, what: "D's largest" };
}

/**
 * A preset's default batch size lowered, with a line in the log, to the largest whose step fits one buffer of this
 * device (as `compare` does): `--model keras-upsample`'s 128 needs a 1.2 GiB buffer, and lavapipe allows 128 MiB.
 * A batch size given on the command line is kept (and refused by refuseImpossibleStep if it cannot run).
 */
function fitDefaultBatch(options: TrainOptions, engine: Engine, log: (line: string) => void): TrainOptions {
  if (options.given.includes('batch-size')) return options;
  const limit = bufferLimit(engine.device.limits);
  let fits: number;
  if (options.model === 'dcgan') {
    const tooLarge = stepTooLarge(options, limit);
    if (!tooLarge) return options;
    fits = tooLarge.largestBatch;
  } else {
    fits = Math.floor(limit / stepBytesPerImage(options).bytes);
  }
  if (fits >= options.batchSize || fits < 1) return options;
  const group = options.minibatchStd;
  if (group > 0 && group < fits) fits -= fits % group;
  log(`batch ${fits}: the default ${options.batchSize} of --model ${options.model} needs more than the ${formatBytes(limit)} this device allows ` +
    `per buffer; --batch-size N chooses another`);
  return { ...options, batchSize: fits };
}

/** Refuses, before anything is created, a batch size or width whose step needs a buffer the device cannot hold. */
function refuseImpossibleStep(options: TrainOptions, engine: Engine): void {
  const limit = bufferLimit(engine.device.limits);
  if (options.model !== 'dcgan') {
    // From the spec: the largest per-image buffer of G and of D (the sample grids run G in chunks that fit).
    const perImage = stepBytesPerImage(options);
    const bytes = perImage.bytes * options.batchSize;
    if (bytes <= limit) return;
    throw new UsageError(`--model ${options.model} --batch-size ${options.batchSize} needs a ${formatBytes(bytes)} buffer (${perImage.what}), ` +
      `more than the ${formatBytes(limit)} this device allows per buffer; use a smaller --batch-size`);
  }
  const tooLarge = stepTooLarge(options, limit);
  if (!tooLarge) return;
  const { buffer, largestBatch } = tooLarge;
  const fix = largestBatch > 0
    ? `use --batch-size ${largestBatch} or less${largestBatch >= 64 ? '' : ', or smaller --ngf/--ndf'}`
    : 'use a smaller --ngf, --ndf or --latent-dim';
  throw new UsageError(`--batch-size ${options.batchSize} with --ngf ${options.ngf} --ndf ${options.ndf} --latent-dim ${options.latentDim} needs a ` +
    `${formatBytes(buffer.bytes)} buffer (${buffer.what}), more than the ${formatBytes(limit)} this device allows per buffer ` +
    `(maxStorageBufferBindingSize ${engine.device.limits.maxStorageBufferBindingSize}, maxBufferSize ${engine.device.limits.maxBufferSize}); ${fix}`);
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const stepFields = (s: StepStats) => ({ loss_d: s.lossD, loss_g: s.lossG, d_real: s.dReal, d_fake: s.dFake });

function writeLossCurve(path: string, history: { loss_d: number; loss_g: number }[]): void {
  lossCurvePng(path, [
    { name: 'D loss', values: history.map((h) => h.loss_d), color: [220, 60, 60] },
    { name: 'G loss', values: history.map((h) => h.loss_g), color: [50, 100, 220] },
  ], { title: 'loss per epoch' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stop = { requested: false };
  const onSignal = () => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    console.error('\nstopping after this step (press again to quit at once)…');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  runCli(async () => {
    await train(process.argv.slice(2), { stop });
    return 0;
  });
}
