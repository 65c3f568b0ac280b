// The model comparison behind `npm run compare`, browser-safe: each preset's sizes from its spec, the rows of
// measured cost and quality, and the markdown tables the README shows. Measuring is done elsewhere
// (step-timing.ts, evaluate.ts, the CLI); this file only holds the numbers and prints them.
import { generatorShapes, discriminatorShapes, parameterCount, bufferCount, type GanSpec } from './spec.js';
import { PRESET_NAMES, DEFAULT_PRESET } from './presets.js';

/** A model of a comparison: a preset, `PRESET+conditional` for its class-conditional variant (`train --conditional`). */
export interface ModelEntry {
  /** The name as given in --models and per-model flags, and of its run folder and table row. */
  name: string;
  preset: string;
  conditional: boolean;
}

export const CONDITIONAL_SUFFIX = '+conditional';

/** `dcgan` → dcgan, `dcgan+conditional` → dcgan with --conditional; null for a name that is neither. */
export function modelEntry(name: string): ModelEntry | null {
  const conditional = name.endsWith(CONDITIONAL_SUFFIX);
  const preset = conditional ? name.slice(0, -CONDITIONAL_SUFFIX.length) : name;
  return PRESET_NAMES.includes(preset) ? { name, preset, conditional } : null;
}

/** The name of a preset's entry, with or without --conditional. */
export const entryName = (preset: string, conditional: boolean) => preset + (conditional ? CONDITIONAL_SUFFIX : '');

/** The models `npm run compare` compares by default: every preset, and the class-conditional reference DCGAN after it. */
export const DEFAULT_COMPARE_MODELS: readonly string[] = PRESET_NAMES.flatMap((p) => (p === DEFAULT_PRESET ? [p, entryName(p, true)] : [p]));

export interface ModelSize {
  model: string;
  /** G's trainable parameters. */
  generator: number;
  /** G's batchnorm running statistics (Keras counts them as non-trainable parameters). */
  generatorBuffers: number;
  /** D's trainable parameters (D's running statistics, if any, are in discriminatorBuffers). */
  discriminator: number;
  discriminatorBuffers: number;
  /** generator / discriminator (trainable parameters). */
  ratio: number;
  /** Everything the two networks hold, trainable and not: the ankle-boot project's "total parameters". */
  total: number;
  /** total as a percentage of the largest total among the models compared (the ankle-boot project's "GAN2 is 41.0 % of GAN1"). */
  percentOfLargest: number;
}

/** Parameter counts of each spec, with G/D and each total as a percentage of the largest. */
export function modelSizes(specs: { model: string; spec: GanSpec }[]): ModelSize[] {
  const raw = specs.map(({ model, spec }) => {
    const G = generatorShapes(spec);
    const D = discriminatorShapes(spec);
    const generator = parameterCount(G);
    const generatorBuffers = bufferCount(G);
    const discriminator = parameterCount(D);
    const discriminatorBuffers = bufferCount(D);
    return { model, generator, generatorBuffers, discriminator, discriminatorBuffers, ratio: generator / discriminator, total: generator + generatorBuffers + discriminator + discriminatorBuffers };
  });
  const largest = Math.max(...raw.map((r) => r.total));
  return raw.map((r) => ({ ...r, percentOfLargest: (100 * r.total) / largest }));
}

export interface StepTiming {
  batch: number;
  /** Median (or mean, when asked) wall time of one training step (D step + G step, stats read back), ms. */
  msPerStep: number;
  imagesPerSecond: number;
  warmups: number;
  runs: number;
}

/** What a model was trained on before its quality was measured. */
export interface TrainingBudget {
  epochs: number;
  /** Training images per epoch (after class filter and limit). */
  images: number;
  batch: number;
  steps: number;
  /** Sum of the epochs' step times from the run's metrics.jsonl (wall time of the steps alone), s. */
  seconds: number | null;
  /** Seconds per epoch: measured (the run's mean) when the run logged its epochs, else ms/step × steps per epoch. */
  secondsPerEpoch: number;
  secondsPerEpochSource: 'measured' | 'estimated';
  /** Seconds a full 60,000-image epoch takes at the timed ms/step (ceil(60000 / batch) steps). */
  secondsPerFullEpoch: number;
  classes: string[];
  seed: number;
  adapter: string;
}

export interface ModelQuality {
  n: number;
  fid: number;
  fidFloor: number;
  fidRatio: number;
  precision: number;
  recall: number;
  /** KL(predicted-class histogram ‖ uniform), nats. */
  classKl: number;
  /** The classifier's accuracy on generated images against the class asked for: class-conditional models only. */
  conditionalAccuracy: number | null;
}

export interface NearestReal {
  count: number;
  /** Mean over the `count` images of ‖g − t‖₂, pixels in [0, 1], over all H·W pixels of an image. */
  meanL2: number;
  /** The same distances with pixels in [−1, 1] (twice the [0, 1] figure). */
  meanL2Signed: number;
  /** Training images searched (the ones the model trained on). */
  searched: number;
  /** Wall time of the search (GPU shortlist + exact float64 re-ranking), s. */
  seconds: number;
}

export interface ComparisonRow {
  size: ModelSize;
  timing: StepTiming;
  budget: TrainingBudget;
  quality: ModelQuality;
  nearest: NearestReal;
  /** The run folder the model was read from. */
  run: string;
}

const int = (v: number) => v.toLocaleString('en-US');
const fixed = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? '—' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
const percent = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)} %`);

function markdown(header: string[], rows: string[][]): string {
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The two markdown tables (size and speed; quality at equal training and nearest real) and their notes. */
export function comparisonTables(rows: ComparisonRow[]): string {
  const adapter = rows[0]?.budget.adapter ?? '';
  const cost = markdown(
    ['model', 'G params', 'D params', 'G/D', 'total, % of largest', 'batch', 'ms/step', 'img/s', 's/epoch (run)', 's/epoch (60k, est.)'],
    rows.map(({ size: s, timing: t, budget: b }) => [
      `\`${s.model}\``,
      int(s.generator) + (s.generatorBuffers ? ` (+${int(s.generatorBuffers)})` : ''),
      int(s.discriminator) + (s.discriminatorBuffers ? ` (+${int(s.discriminatorBuffers)})` : ''),
      s.ratio.toFixed(2),
      `${int(s.total)}, ${s.percentOfLargest.toFixed(1)} %`,
      String(t.batch), t.msPerStep.toFixed(0), t.imagesPerSecond.toFixed(1),
      `${b.secondsPerEpoch.toFixed(1)} (${b.secondsPerEpochSource})`, b.secondsPerFullEpoch.toFixed(0),
    ]));
  const quality = markdown(
    ['model', 'trained on', 'FID', 'floor', 'FID/floor', 'precision', 'recall', 'class KL', 'cond. acc.', 'nearest real L2', 'search'],
    rows.map(({ size: s, budget: b, quality: q, nearest: m }) => [
      `\`${s.model}\``,
      `${b.epochs} × ${int(b.images)} img, batch ${b.batch}, ${int(b.steps)} steps` + (b.seconds !== null ? `, ${b.seconds.toFixed(0)} s` : ''),
      fixed(q.fid, 2), fixed(q.fidFloor, 2), fixed(q.fidRatio, 1), fixed(q.precision, 3), fixed(q.recall, 3), fixed(q.classKl, 3),
      percent(q.conditionalAccuracy), fixed(m.meanL2, 3), `${fixed(m.seconds, 2)} s over ${int(m.searched)}`,
    ]));
  const n = rows[0]?.quality.n;
  const near = rows[0]?.nearest;
  return [
    `Size and speed on ${adapter}. Counts are trainable parameters, batchnorm running statistics in parentheses; G/D is of trainable parameters; the total holds both nets' running statistics too. ms/step: median of timed steps after warm-up (D step + G step, stats read back); s/epoch (run): the run's own epochs, measured, or ms/step × its steps per epoch if it logged none; s/epoch (60k, est.): ms/step × ⌈60000 / batch⌉.`,
    '',
    cost,
    '',
    `Quality at equal training: ${n !== undefined ? int(n) : 'n'} generated images against the Fashion-MNIST test set through the feature classifier (FID floor: as many real training images). Class KL: nats from uniform. Cond. acc.: the classifier's accuracy on the class asked for (class-conditional models; — otherwise). Nearest real L2: for ${near?.count ?? 20} generated images, the mean Euclidean distance to the closest of the training images the model trained on, pixels in [0, 1], over all 784 pixels of an image (with pixels in [−1, 1] it is twice that); search: wall time of that search (GPU shortlist, exact float64 re-ranking) over that many training images.`,
    '',
    quality,
  ].join('\n');
}
