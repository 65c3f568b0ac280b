// `npm run compare`: every model preset on the same measures, as the ankle-boot project compared its two GANs —
// parameter counts and their ratios, ms per training step, quality after the same training (FID/floor,
// precision, recall, class KL, conditional accuracy where it applies), the nearest-real comparison, and a figure
// with a row of samples per model. A model is a preset or `PRESET+conditional`, its class-conditional variant
// (trained with --conditional). Each model is trained by `npm run train` (a child process, so its run folder
// under --runs is exactly what train writes and resumes); finished runs are reused, interrupted ones continued.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../runtime/engine.js';
import { DEFAULT_DATA_DIR, FASHION_MNIST_CLASSES, resolveClasses, FASHION_MNIST } from '../data/fashion-mnist.js';
import { loadFashionMnist } from '../node/mnist-files.js';
import { findPreset, DEFAULT_WIDTH, CONDITIONAL } from '../gan/presets.js';
import { generatorShapes, discriminatorShapes, conditionalSpec } from '../gan/spec.js';
import { bufferLimit, largestBatchThatFits } from '../gan/step-memory.js';
import { modelSizes, comparisonTables, modelEntry, DEFAULT_COMPARE_MODELS, CONDITIONAL_SUFFIX, type ComparisonRow, type ModelEntry } from '../gan/comparison.js';
import { timeTrainingStep } from '../gan/step-timing.js';
import { nearestReal } from '../gan/compare-measures.js';
import { evaluateGenerator } from '../gan/evaluate.js';
import { loadClassifier } from '../gan/classifier.js';
import { sampleImages, trainSampleSeed } from '../gan/real-samples.js';
import { gpuNeighbourSearch } from '../gan/nearest.js';
import { samplePixels } from '../gan/sample.js';
import { TrainingError } from '../gan/errors.js';
import { imageGrid, encodePng } from '../io/png.js';
import { createNodeEngine } from '../node/gpu.js';
import { loadGenerator } from '../node/load-generator.js';
import { DEFAULT_CLASSIFIER, readClassifierFile } from '../node/classifier-file.js';
import { planRun, readFinishedRun, runDirOf, type CompareBudget, type RunPlan } from '../node/compare-runs.js';
import { parse, num, str, list, runCli, HelpRequest, UsageError } from '../node/args.js';
import { checkOutputs, OutputWriter } from '../node/outputs.js';

export const DEFAULT_EPOCHS = 1;
export const DEFAULT_LIMIT = 12800;
/** keras-upsample's G does ~110× the reference G's FLOPs: its default budget is smaller (stated in the table). */
export const DEFAULT_LIMITS: Record<string, number> = { 'keras-upsample': 96 };

export const COMPARE_USAGE = `usage: npm run compare -- [options]
  --models A,B,...    models to compare: a preset, or PRESET${CONDITIONAL_SUFFIX} for its class-conditional variant
                      (trained with --conditional) (default: ${DEFAULT_COMPARE_MODELS.join(', ')})
  --epochs N          epochs each model trains (default ${DEFAULT_EPOCHS}); MODEL=N sets one model's, e.g. --epochs keras-upsample=1
                      or --epochs dcgan${CONDITIONAL_SUFFIX}=2
  --limit N           training images per epoch: the first N of the selected classes (default ${DEFAULT_LIMIT};
                      keras-upsample ${DEFAULT_LIMITS['keras-upsample']}); MODEL=N sets one model's (repeatable)
  --batch-size N      images per step (default each preset's own, capped at what the device holds in one
                      buffer: keras-upsample 12 here); MODEL=N sets one model's (repeatable)
  --class NAME        train every model on this class only (repeatable; default all classes, also for the
                      ganerator presets, whose own default is ankle boots)
  --seed S            seeds training, sampling and the choice of real images (default 0)
  --n N               generated images per quality measurement (default 500); FID depends on n
  --nearest N         generated images in the nearest-real comparison (default 20)
  --timed-steps N     training steps timed after --warmup-steps untimed ones (default 3 and 1)
  --warmup-steps N
  --runs DIR          the run folder of each model is DIR/<model>, e.g. DIR/dcgan${CONDITIONAL_SUFFIX} (default OUT/runs):
                      a finished run there is reused, an interrupted one continued, a missing one trained
  --out DIR           writes comparison.md, comparison.json, samples.png, nearest.png (default runs/compare)
  --data DIR          folder with the four Fashion-MNIST IDX files (default ${DEFAULT_DATA_DIR})
  --classifier FILE   the feature classifier (default ${DEFAULT_CLASSIFIER})`;

export interface CompareOptions {
  models: string[];
  budgets: CompareBudget[];
  /** Batch sizes given on the command line (the rest default to the preset's, capped to fit the device). */
  batchGiven: Set<string>;
  seed: number;
  n: number;
  nearest: number;
  timedSteps: number;
  warmupSteps: number;
  runs: string;
  out: string;
  data: string;
  classifier: string;
  classes: string[];
}

/** The entry of one name in --models or a per-model flag; UsageError for a name that is not one. */
function entryOf(name: string, flag: string): ModelEntry {
  const entry = modelEntry(name);
  if (!entry) {
    throw new UsageError(`${flag}: unknown model ${JSON.stringify(name).slice(0, 40)}; use a preset (${DEFAULT_COMPARE_MODELS.filter((m) => !m.endsWith(CONDITIONAL_SUFFIX)).join(', ')}), or PRESET${CONDITIONAL_SUFFIX} for its class-conditional variant`);
  }
  return entry;
}

/** `--flag N` for all and `--flag MODEL=N` for one (repeatable): each model's value. */
function perModel(values: Record<string, unknown>, flag: string, models: string[], fallback: (model: string) => number, check: Parameters<typeof num>[3]): Map<string, number> {
  const out = new Map(models.map((m) => [m, fallback(m)]));
  const given = list(values as Parameters<typeof list>[0], flag);
  const overrides: [string, string][] = [];
  for (const g of given) {
    const eq = g.indexOf('=');
    if (eq < 0) {
      const v = num({ [flag]: g }, flag, 0, check);
      for (const m of models) out.set(m, v);
    } else overrides.push([g.slice(0, eq), g.slice(eq + 1)]);
  }
  for (const [model, raw] of overrides) {
    entryOf(model, `--${flag} ${model}=${raw}`);
    if (!models.includes(model)) throw new UsageError(`--${flag} ${model}=${raw}: ${model} is not among --models ${models.join(',')}; add it there or drop this`);
    const v = num({ [flag]: raw }, flag, 0, check);
    out.set(model, v);
  }
  return out;
}

export function parseCompareOptions(argv: string[]): CompareOptions {
  const v = parse(argv, {
    models: { type: 'string' }, epochs: { type: 'string', multiple: true }, limit: { type: 'string', multiple: true }, 'batch-size': { type: 'string', multiple: true },
    class: { type: 'string', multiple: true }, seed: { type: 'string' }, n: { type: 'string' }, nearest: { type: 'string' }, 'timed-steps': { type: 'string' },
    'warmup-steps': { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' }, data: { type: 'string' }, classifier: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, COMPARE_USAGE);
  if (v.help) throw new HelpRequest(COMPARE_USAGE);
  const models = str(v, 'models')?.split(',').map((m) => m.trim()) ?? [...DEFAULT_COMPARE_MODELS];
  const entries = new Map(models.map((m) => [m, entryOf(m, '--models')]));
  if (new Set(models).size !== models.length) throw new UsageError(`--models ${models.join(',')}: a model is named twice; name each once`);
  const classes = list(v, 'class');
  try {
    if (classes.length) resolveClasses(FASHION_MNIST, classes);
  } catch (e) {
    throw new UsageError(`--class: ${(e as Error).message.replace(/^Fashion-MNIST: /, '')}`);
  }
  const seed = num(v, 'seed', 0, { int: true, min: 0, max: 2 ** 32 - 1 });
  const data = str(v, 'data') ?? DEFAULT_DATA_DIR;
  const epochs = perModel(v, 'epochs', models, () => DEFAULT_EPOCHS, { int: true, min: 1, max: 10000 });
  const limit = perModel(v, 'limit', models, (m) => DEFAULT_LIMITS[entries.get(m)!.preset] ?? DEFAULT_LIMIT, { int: true, min: 1 });
  const batch = perModel(v, 'batch-size', models, (m) => findPreset(entries.get(m)!.preset)!.defaults.batchSize, { int: true, min: 1, max: 4096 });
  const batchGiven = new Set(list(v, 'batch-size').some((b) => !b.includes('=')) ? models : list(v, 'batch-size').map((b) => b.split('=')[0]));
  const out = str(v, 'out') ?? join('runs', 'compare');
  return {
    models,
    budgets: models.map((model) => ({ model, preset: entries.get(model)!.preset, conditional: entries.get(model)!.conditional, epochs: epochs.get(model)!, limit: limit.get(model)!, batchSize: batch.get(model)!, classes, seed, data })),
    batchGiven,
    seed,
    n: num(v, 'n', 500, { int: true, min: 10, max: 10000 }),
    nearest: num(v, 'nearest', 20, { int: true, min: 1, max: 1000 }),
    timedSteps: num(v, 'timed-steps', 3, { int: true, min: 1, max: 1000 }),
    warmupSteps: num(v, 'warmup-steps', 1, { int: true, min: 0, max: 1000 }),
    runs: str(v, 'runs') ?? join(out, 'runs'),
    out,
    data,
    classifier: str(v, 'classifier') ?? DEFAULT_CLASSIFIER,
    classes,
  };
}

/** Runs `npm run train` with these flags; resolves when it exits (stopped or finished), throws when it fails. */
export type TrainRunner = (args: string[]) => Promise<void>;

export interface CompareHooks {
  engine?: Engine;
  /** How a preset is trained (default: dist/src/cli/train.js in a child process). */
  train?: TrainRunner;
  log?: (line: string) => void;
}

export interface CompareResult {
  rows: ComparisonRow[];
  table: string;
  files: string[];
  trained: { model: string; action: RunPlan['action'] }[];
}

const OUTPUT_FILES = ['comparison.md', 'comparison.json', 'samples.png', 'nearest.png'] as const;

export async function compare(argv: string[], hooks: CompareHooks = {}): Promise<CompareResult> {
  const options = parseCompareOptions(argv);
  const log = hooks.log ?? (() => undefined);
  // Refuse bad files, data and outputs before the GPU starts and before any training.
  const classifierFile = readClassifierFile(options.classifier);
  const test = loadFashionMnist({ dir: options.data, split: 'test' });
  const train = loadFashionMnist({ dir: options.data, split: 'train' });
  if (options.n > test.count) throw new UsageError(`--n ${options.n}: more than the ${test.count.toLocaleString('en-US')} test images in ${options.data}; use --n ${test.count} or less`);
  if (options.n > train.count) throw new UsageError(`--n ${options.n}: more than the ${train.count.toLocaleString('en-US')} training images the FID floor needs; use --n ${train.count} or less`);
  const outputs = OUTPUT_FILES.map((name) => ({ flag: '--out', path: join(options.out, name) }));
  checkOutputs({ files: outputs, inputs: [{ flag: '--classifier', path: options.classifier }] });

  const engine = hooks.engine ?? (await createNodeEngine());
  const limit = bufferLimit(engine.device.limits);
  const plans = options.budgets.map((budget) => {
    if (!options.batchGiven.has(budget.model)) budget.batchSize = Math.min(budget.batchSize, largestBatch(budget, limit));
    return planRun(budget, runDirOf(options.runs, budget.model), '--runs');
  });
  const runTrain = hooks.train ?? childTrainer(log);
  for (const plan of plans) {
    if (plan.action === 'reuse') {
      log(`${plan.budget.model}: reusing the finished run in ${plan.runDir}`);
      continue;
    }
    log(`${plan.budget.model}: ${plan.action === 'train' ? 'training' : 'resuming'} (npm run train -- ${plan.trainArgs.join(' ')})`);
    await runTrain(plan.trainArgs);
    readFinishedRun(plan.runDir, plan.budget.epochs, plan.budget.model); // an interrupted training stops the comparison here
  }

  const classifier = loadClassifier(engine, classifierFile.tensors, options.classifier);
  const rows: ComparisonRow[] = [];
  const samples: Float32Array[] = [];
  const pairs: Float32Array[] = [];
  const search = gpuNeighbourSearch(engine);
  const pixels = train.height * train.width;
  const sampleCount = 16;
  try {
    const finished = plans.map((p) => ({ plan: p, run: readFinishedRun(p.runDir, p.budget.epochs, p.budget.model) }));
    const sizes = modelSizes(finished.map(({ plan, run }) => ({ model: plan.budget.model, spec: run.spec })));
    for (const [i, { plan, run }] of finished.entries()) {
      const model = plan.budget.model;
      const o = run.options;
      const seen = loadFashionMnist({ dir: options.data, split: 'train', classes: o.classes.length ? o.classes : undefined, limit: o.limit });
      if (seen.count < o.batchSize) throw new UsageError(`--limit ${o.limit}: fewer images than one batch of ${o.batchSize} for ${model}; use a larger --limit or a smaller --batch-size`);
      log(`${model}: timing ${options.timedSteps} training steps at batch ${o.batchSize} after ${options.warmupSteps} warm-up steps`);
      const timing = await timeTrainingStep(engine, o, run.spec, seen.images.subarray(0, o.batchSize * pixels), [o.batchSize, 1, seen.height, seen.width], {
        warmups: options.warmupSteps, runs: options.timedSteps, labels: seen.labels.subarray(0, o.batchSize),
      });
      const stepsPerEpoch = Math.floor(seen.count / o.batchSize);
      const measured = run.epochSeconds.length > 0;
      const trainedSeconds = measured ? run.epochSeconds.reduce((a, b) => a + b, 0) : null;

      log(`${model}: measuring quality on ${options.n} generated images`);
      const loaded = loadGenerator(engine, run.checkpoint);
      try {
        const { report } = await evaluateGenerator(engine, loaded.G, loaded.latentDim, classifier, {
          test: { images: test.images, count: test.count },
          testSample: sampleImages(test, options.n, options.seed),
          trainSample: sampleImages(train, options.n, trainSampleSeed(options.seed)),
          train: { images: train.images, count: train.count },
          height: train.height, width: train.width,
          testLabels: test.labels,
        }, { n: options.n, seed: options.seed, search, pairs: 0 });
        log(`${model}: nearest of ${seen.count} training images to each of ${options.nearest} generated images`);
        const near = await nearestReal(engine, loaded, seen.images, seen.count, search, { count: options.nearest, seed: options.seed });
        const shown = await samplePixels(engine, loaded, { n: sampleCount, seed: (options.seed + 1) >>> 0 });
        samples.push(shown.pixels);
        pairs.push(near.generated, near.closest);
        rows.push({
          size: sizes[i],
          timing,
          budget: {
            epochs: run.epochsDone, images: seen.count, batch: o.batchSize, steps: run.step, seconds: trainedSeconds,
            secondsPerEpoch: measured ? trainedSeconds! / run.epochSeconds.length : (timing.msPerStep * stepsPerEpoch) / 1000,
            secondsPerEpochSource: measured ? 'measured' : 'estimated',
            secondsPerFullEpoch: (timing.msPerStep * Math.ceil(60000 / o.batchSize)) / 1000,
            classes: o.classes.length ? o.classes : [...FASHION_MNIST_CLASSES], seed: o.seed, adapter: engine.adapterName,
          },
          quality: {
            n: report.n, fid: report.fid, fidFloor: report.fid_floor, fidRatio: report.fid_ratio, precision: report.precision, recall: report.recall,
            classKl: report.class_kl, conditionalAccuracy: report.conditional?.accuracy ?? null,
          },
          nearest: near.nearest,
          run: plan.runDir,
        });
      } finally {
        loaded.G.dispose();
      }
    }
  } finally {
    classifier.dispose();
  }

  const table = comparisonTables(rows);
  const writer = new OutputWriter();
  const [md, json, samplesPng, nearestPng] = outputs.map((o) => o.path);
  writer.write('--out', md, table + '\n');
  writer.write('--out', json, JSON.stringify({
    date: new Date().toISOString(), adapter: engine.adapterName, argv,
    units: {
      ms_per_step: 'median wall time of one training step (D step + G step, stats read back), ms',
      nearest_l2: 'mean over the generated images of the Euclidean distance to the closest training image, pixels in [0, 1], over all 784 pixels (×2 for pixels in [-1, 1])',
      class_kl: 'nats',
    },
    figures: { samples: `one row of ${sampleCount} per model, in the order of rows (a class-conditional model's asks for the classes in turn: 0…9, then 0…5)`, nearest: `per model two rows: ${options.nearest} generated images, then the closest training image of each` },
    rows,
  }, null, 2) + '\n');
  const grid = (images: Float32Array[], cols: number) => {
    const all = new Float32Array(images.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of images) {
      all.set(a, at);
      at += a.length;
    }
    const g = imageGrid(all, all.length / pixels, train.height, train.width, { cols, pad: 2, range: [-1, 1] });
    return encodePng(g.width, g.height, g.pixels);
  };
  writer.write('--out', samplesPng, grid(samples, sampleCount));
  writer.write('--out', nearestPng, grid(pairs, options.nearest));
  return { rows, table, files: writer.written, trained: plans.map((p) => ({ model: p.budget.model, action: p.action })) };
}

/** The largest batch whose step fits one device buffer (G's or D's largest per-image buffer × batch). */
function largestBatch({ preset: name, conditional }: CompareBudget, limitBytes: number): number {
  const preset = findPreset(name)!;
  const plain = preset.spec({ latentDim: preset.defaults.latentDim, ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH, spectralNorm: false });
  const spec = conditional ? conditionalSpec(plain, { ...CONDITIONAL }) : plain;
  // A G with a class embedding reads z and the embedding in its first layer.
  if (name === 'dcgan') return largestBatchThatFits({ latentDim: spec.latentDim + (spec.conditional?.embedding ?? 0), ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH }, limitBytes);
  return Math.max(1, Math.floor(limitBytes / Math.max(generatorShapes(spec).bytesPerImage, discriminatorShapes(spec).bytesPerImage)));
}

/** Stop requests of the CLI (SIGINT, SIGTERM): passed on to the training child, which stops after its step with a checkpoint. */
const stop = { requested: false, child: null as ReturnType<typeof spawn> | null };

/** `node train.js ARGS` in a process group of its own (a terminal's Ctrl-C reaches compare, which passes on one SIGTERM). */
function childTrainer(log: (line: string) => void): TrainRunner {
  const entry = fileURLToPath(new URL('./train.js', import.meta.url));
  return (args) => new Promise((resolve, reject) => {
    if (!existsSync(entry)) return reject(new UsageError(`compare trains through ${entry}, which is missing; build first (npm run build) or run npm run compare`));
    if (stop.requested) return reject(new TrainingError('interrupted before training; run the same command again to continue'));
    const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 2, 'pipe'], detached: true });
    stop.child = child;
    let lastError = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      const lines = chunk.toString('utf8').split('\n').filter((l) => l.startsWith('error: '));
      if (lines.length) lastError = lines[lines.length - 1].slice('error: '.length);
    });
    child.on('error', (e) => reject(new TrainingError(`could not start ${entry}: ${e.message}`)));
    child.on('exit', (code, signal) => {
      stop.child = null;
      if (code === 0) return resolve();
      log(`train exited with ${signal ?? `code ${code}`}`);
      reject(new TrainingError(`npm run train -- ${args.join(' ')} failed: ${lastError || (signal ? `killed by ${signal}` : `exit code ${code}`)}`));
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const onSignal = () => {
    if (stop.requested) {
      stop.child?.kill('SIGTERM'); // train's second signal: it quits at once
      process.exit(130);
    }
    stop.requested = true;
    stop.child?.kill('SIGTERM');
    console.error('\nstopping the training after this step (press again to quit at once)…');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => stop.child?.kill('SIGKILL'));
  runCli(async () => {
    const { table, files } = await compare(process.argv.slice(2), { log: (line) => console.error(`… ${line}`) });
    console.log(table);
    console.log(`\nwrote ${files.join(', ')}`);
    return 0;
  });
}
