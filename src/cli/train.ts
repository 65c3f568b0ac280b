// `npm run train`: the DCGAN on Fashion-MNIST, with sample grids, metrics, loss curve and resumable checkpoints.
import { mkdirSync, appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../runtime/engine.js';
import { tensor, randn } from '../tensor/ops/create.js';
import { keep } from '../tensor/autograd.js';
import { loadFashionMnist, FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
import { Batcher } from '../data/batches.js';
import { GanTrainer, toStats, type StepStats } from '../gan/trainer.js';
import { summary } from '../gan/models.js';
import { linearDecayFactor } from '../nn/schedule.js';
import { createNodeEngine } from '../node/gpu.js';
import { parseTrainOptions, type TrainOptions } from './train-options.js';
import { saveCheckpoint, loadTrainingCheckpoint, resolveCheckpointPath, applyResumeOptions, type EpochTotals } from './checkpoint-files.js';
import { writeSampleGrid } from './images.js';
import { lossCurvePng } from '../io/plot.js';
import { Progress, bar, duration } from './progress.js';
import { runCli, UsageError } from './args.js';
import { readClassifierFile } from './classifier-file.js';
import { createQualityProbe, type QualityProbe } from '../gan/evaluate.js';

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

export interface TrainHooks {
  engine?: Engine;
  /** Set `requested` to stop after the current step (SIGINT/SIGTERM do this in the CLI). */
  stop?: { requested: boolean };
  log?: (line: string) => void;
  progress?: Progress;
}

export interface TrainResult {
  outDir: string;
  steps: number;
  epochsDone: number;
  stopped: boolean;
}

const emptyTotals = (): EpochTotals => ({ lossD: 0, lossG: 0, dReal: 0, dFake: 0, steps: 0, seconds: 0 });

export async function train(argv: string[], hooks: TrainHooks = {}): Promise<TrainResult> {
  let options: TrainOptions = parseTrainOptions(argv);
  const log = hooks.log ?? ((line: string) => console.log(line));
  const progress = hooks.progress ?? new Progress();
  const stop = hooks.stop ?? { requested: false };

  const resumePath = options.resume ? resolveCheckpointPath(options.resume) : undefined;
  const resumed = resumePath ? loadTrainingCheckpoint(resumePath) : undefined;
  if (resumed) options = applyResumeOptions(options, resumed.options);
  if (options.decayEpochs > options.epochs) {
    throw new UsageError(`--decay-epochs ${options.decayEpochs} is more than the ${options.epochs} epochs of this run; decay over at most all of the epochs`);
  }

  // Refuse a missing classifier before training, not at the first evaluation.
  const classifierFile = options.evalEvery ? readClassifierFile(options.classifier) : undefined;
  const testImages = classifierFile ? loadFashionMnist({ dir: options.data, split: 'test' }).images : undefined;

  const data = loadFashionMnist({ dir: options.data, split: 'train', classes: options.classes.length ? options.classes : undefined, limit: options.limit });
  const batcher = new Batcher({ images: data.images, labels: data.labels, count: data.count, itemSize: data.height * data.width }, options.batchSize, { seed: options.seed });

  const outDir = options.out ?? resumed?.runDir ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19));
  for (const sub of ['samples', 'checkpoints']) mkdirSync(join(outDir, sub), { recursive: true });

  const engine = hooks.engine ?? (await createNodeEngine());
  const trainer = new GanTrainer(engine, options);
  let fixedZ = keep(randn(engine, [64, options.latentDim, 1, 1], 0, 1, { seed: (options.seed ^ 0x5eed) >>> 0 }));
  let totals = emptyTotals();
  let step = 0;
  if (resumed) {
    const restored = resumed.restore(engine, trainer, batcher);
    fixedZ.dispose();
    fixedZ = restored.fixedZ;
    totals = restored.totals;
    step = restored.step;
  }

  log(`atelier DCGAN — adapter: ${engine.adapterName}`);
  log(summary('Generator', trainer.G));
  log(summary('Discriminator', trainer.D));
  const classNames = data.classes.map((c) => FASHION_MNIST_CLASSES[c]).join(', ');
  log(`data: ${data.count.toLocaleString('en-US')} images of ${data.height}×${data.width} from ${options.data} (classes: ${classNames}); ` +
    `${batcher.batchesPerEpoch} batches of ${options.batchSize} per epoch`);
  log(`loss: ${options.loss}, Adam lr D ${options.lrD} G ${options.lrG}` +
    (options.decayEpochs ? `, falling linearly to 0 over the last ${options.decayEpochs} of ${options.epochs} epochs` : '') +
    (options.ema ? `; samples from a moving average of G's weights (decay ${options.ema})` : ''));
  log(`output: ${outDir}${resumed ? ` (resumed from ${resumePath} at step ${step})` : ''}`);

  const metricsPath = join(outDir, 'metrics.jsonl');
  const history = readHistory(metricsPath);
  const save = (epochsDone: number, perEpoch: boolean) =>
    saveCheckpoint(outDir, { engine, trainer, batcher, options, fixedZ, totals, step, epochsDone, perEpoch });

  let probe: QualityProbe | undefined;
  const measureQuality = async () => {
    probe ??= await createQualityProbe(engine, classifierFile!.tensors, testImages!, { n: Math.min(options.evalN, testImages!.length / 784) });
    const q = await probe.measure(trainer.sampler, options.latentDim);
    return { eval_n: q.n, fid: q.fid, class_kl: q.classKl, inception_score: q.inceptionScore };
  };

  const epochsDone = () => (batcher.batchInEpoch >= batcher.batchesPerEpoch ? batcher.epoch + 1 : batcher.epoch);
  try {
    while (epochsDone() < options.epochs) {
      const epoch = epochsDone();
      for (const batch of batcher.epochBatches()) {
        const started = performance.now();
        trainer.setLearningRateScale(linearDecayFactor(step, options.epochs * batcher.batchesPerEpoch, options.decayEpochs * batcher.batchesPerEpoch));
        const real = tensor(engine, batch.images, [options.batchSize, 1, data.height, data.width]);
        const statsTensor = trainer.step(real);
        const stats = toStats(await statsTensor.toArray());
        real.dispose();
        statsTensor.dispose();
        step++;
        if (![stats.lossD, stats.lossG].every(Number.isFinite)) {
          throw new TrainingError(`the loss became ${Number.isFinite(stats.lossD) ? stats.lossG : stats.lossD} at epoch ${epoch + 1}, step ${step} ` +
            `(D loss ${stats.lossD}, G loss ${stats.lossG}); training stopped. The last good checkpoint is ` +
            `${join(outDir, 'checkpoints', 'latest.safetensors')}; resume from it with lower learning rates (--lr-d, --lr-g).`);
        }
        const seconds = (performance.now() - started) / 1000;
        accumulate(totals, stats, seconds);
        const imagesPerSecond = (totals.steps * options.batchSize) / totals.seconds;
        const left = (batcher.batchesPerEpoch - batch.index - 1 + (options.epochs - epoch - 1) * batcher.batchesPerEpoch) * (totals.seconds / totals.steps);
        progress.update(`epoch ${epoch + 1}/${options.epochs} ${bar((batch.index + 1) / batcher.batchesPerEpoch)} ` +
          `${batch.index + 1}/${batcher.batchesPerEpoch} | D ${stats.lossD.toFixed(3)} G ${stats.lossG.toFixed(3)} ` +
          `D(x) ${stats.dReal.toFixed(2)} D(G(z)) ${stats.dFake.toFixed(2)} | ${imagesPerSecond.toFixed(1)} img/s | ETA ${duration(left)}`);
        if (options.logEvery && step % options.logEvery === 0) {
          appendFileSync(metricsPath, JSON.stringify({ kind: 'step', epoch: epoch + 1, step, ...stepFields(stats), images_per_s: round1(options.batchSize / seconds) }) + '\n');
        }
        if (options.sampleEvery && step % options.sampleEvery === 0) {
          await writeSampleGrid(trainer, fixedZ, join(outDir, 'samples', `step_${String(step).padStart(6, '0')}.png`));
        }
        if (stop.requested || (options.maxSteps !== undefined && step >= options.maxSteps)) {
          const path = await save(epoch, false);
          progress.line(`${stop.requested ? 'interrupted' : `reached --max-steps ${options.maxSteps}`}: checkpoint written to ${path}; continue with --resume ${outDir}`);
          return { outDir, steps: step, epochsDone: epochsDone(), stopped: true };
        }
      }
      const line = {
        kind: 'epoch', epoch: epoch + 1, step,
        loss_d: totals.lossD / totals.steps, loss_g: totals.lossG / totals.steps,
        d_real: totals.dReal / totals.steps, d_fake: totals.dFake / totals.steps,
        images_per_s: (totals.steps * options.batchSize) / totals.seconds, seconds: totals.seconds,
        ...(options.evalEvery && (epoch + 1) % options.evalEvery === 0 ? await measureQuality() : {}),
      };
      appendFileSync(metricsPath, JSON.stringify(line) + '\n');
      history.push(line);
      await writeSampleGrid(trainer, fixedZ, join(outDir, 'samples', `epoch_${String(epoch + 1).padStart(3, '0')}.png`));
      writeLossCurve(join(outDir, 'loss.png'), history);
      totals = emptyTotals();
      const path = await save(epoch + 1, true);
      const quality = line.fid !== undefined ? ` | FID ${line.fid.toFixed(2)} (n ${line.eval_n}) class KL ${line.class_kl?.toFixed(4)}` : '';
      progress.line(`epoch ${epoch + 1}/${options.epochs}: D ${line.loss_d.toFixed(4)} G ${line.loss_g.toFixed(4)} D(x) ${line.d_real.toFixed(3)} ` +
        `D(G(z)) ${line.d_fake.toFixed(3)} | ${line.images_per_s.toFixed(1)} img/s, ${line.seconds.toFixed(1)} s${quality} | ${path}`);
    }
    return { outDir, steps: step, epochsDone: epochsDone(), stopped: false };
  } finally {
    probe?.dispose();
    fixedZ.dispose();
    trainer.dispose();
  }
}

function accumulate(totals: EpochTotals, s: StepStats, seconds: number): void {
  totals.lossD += s.lossD;
  totals.lossG += s.lossG;
  totals.dReal += s.dReal;
  totals.dFake += s.dFake;
  totals.steps++;
  totals.seconds += seconds;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const stepFields = (s: StepStats) => ({ loss_d: s.lossD, loss_g: s.lossG, d_real: s.dReal, d_fake: s.dFake });

interface EpochLine {
  loss_d: number;
  loss_g: number;
}

function readHistory(path: string): EpochLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.kind === 'epoch');
}

function writeLossCurve(path: string, history: EpochLine[]): void {
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
