// The run folders of `npm run compare`: one per preset under --runs, each as `npm run train -- --out` writes
// it. A folder without a checkpoint is trained from scratch, one whose checkpoint has fewer epochs than its run
// asks is resumed, a finished one is reused; one trained with other settings than this comparison's (with or
// without --conditional included) is refused.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FASHION_MNIST, resolveClasses } from '../data/fashion-mnist.js';
import { readSafetensors } from '../io/safetensors.js';
import { loadTrainingCheckpoint } from './checkpoint-files.js';
import { latestPath, metricsPath } from './run-folder.js';
import { UsageError } from './args.js';
import { TrainingError } from '../gan/errors.js';
import type { StoredOptions } from './stored-config.js';
import type { GanSpec } from '../gan/spec.js';
import { entryName } from '../gan/comparison.js';

/** What each preset of a comparison trains on. */
export interface CompareBudget {
  /** The model's name in the comparison: its preset, or `PRESET+conditional` (comparison.ts's modelEntry). */
  model: string;
  preset: string;
  /** Trained with --conditional (class-conditional G and projection D). */
  conditional: boolean;
  epochs: number;
  /** Training images per epoch at most (after the class filter). */
  limit: number;
  batchSize: number;
  /** Class names; every class when empty. */
  classes: string[];
  seed: number;
  data: string;
}

export interface RunPlan {
  budget: CompareBudget;
  runDir: string;
  /** What compare does with the folder: train from scratch, resume its checkpoint, or use it as it is. */
  action: 'train' | 'resume' | 'reuse';
  /** The flags of `npm run train` for 'train' and 'resume'. */
  trainArgs: string[];
}

export interface FinishedRun {
  options: StoredOptions;
  spec: GanSpec;
  checkpoint: string;
  step: number;
  epochsDone: number;
  /** Each finished epoch's step seconds from metrics.jsonl (empty when it has none). */
  epochSeconds: number[];
}

/** Class indices of a selection, every class for an empty one. */
const classIndices = (c: string[]) => resolveClasses(FASHION_MNIST, c.length ? c : undefined);
const sameClasses = (a: string[], b: string[]) => JSON.stringify(classIndices(a)) === JSON.stringify(classIndices(b));

/** The flags of `npm run train` that train `budget` into `runDir`. */
export function trainArgsOf(b: CompareBudget, runDir: string): string[] {
  // Every class is named when all are asked for: a preset's own default (ganerator: ankle boots) must not apply.
  const classes = b.classes.length ? b.classes : [...FASHION_MNIST.classNames];
  return [
    '--model', b.preset, ...(b.conditional ? ['--conditional'] : []), '--epochs', String(b.epochs), '--limit', String(b.limit), '--batch-size', String(b.batchSize),
    '--seed', String(b.seed), '--data', b.data, '--out', runDir, ...classes.flatMap((c) => ['--class', c]),
  ];
}

/**
 * Decides what to do with `runDir` for `budget`: reads and checks its checkpoint (CheckpointError for a
 * corrupt one) and refuses one trained with another model, with or without --conditional against the budget's,
 * or with another batch size, seed, class selection, limit or number of epochs (UsageError naming the folder,
 * the setting and the fix).
 */
export function planRun(budget: CompareBudget, runDir: string, flag: string): RunPlan {
  const latest = latestPath(runDir);
  if (!existsSync(latest)) return { budget, runDir, action: 'train', trainArgs: trainArgsOf(budget, runDir) };
  const { options } = loadTrainingCheckpoint(latest);
  const stored: [string, unknown, unknown][] = [
    ['model', options.model, budget.preset], ['epochs', options.epochs, budget.epochs], ['limit', options.limit, budget.limit],
    ['batch-size', options.batchSize, budget.batchSize], ['seed', options.seed, budget.seed],
  ];
  for (const [name, has, wants] of stored) {
    if (has !== wants) {
      throw new UsageError(`${flag} ${runDir} holds a run with --${name} ${String(has)}, but this comparison trains ${budget.model} with --${name} ${String(wants)}; ` +
        `give compare --${name === 'model' ? 'models' : name} ${name === 'model' ? '' : `${budget.model}=`}${String(has)}, or another ${flag}, or move that folder away`);
    }
  }
  const conditional = options.conditional ?? false;
  if (conditional !== budget.conditional) {
    const other = entryName(budget.preset, conditional);
    throw new UsageError(`${flag} ${runDir} holds a run trained ${conditional ? 'with' : 'without'} --conditional, but this comparison trains ${budget.model} ${budget.conditional ? 'with' : 'without'} --conditional; ` +
      `move that folder away (to ${join(dirname(runDir), other)} it is compared as ${other}), or give another ${flag}`);
  }
  if (!sameClasses(options.classes, budget.classes)) {
    const shown = (c: string[]) => (c.length ? c.join(',') : 'all');
    throw new UsageError(`${flag} ${runDir} holds a run on classes ${shown(options.classes)}, but this comparison trains on ${shown(budget.classes)}; give the same --class, or another ${flag}`);
  }
  const epochsDone = Number(readSafetensors(latest).metadata.epochs_done);
  return epochsDone >= budget.epochs
    ? { budget, runDir, action: 'reuse', trainArgs: [] }
    : { budget, runDir, action: 'resume', trainArgs: ['--resume', runDir] };
}

/** The finished run in `runDir`: its checked checkpoint and its epochs' times. Throws if it is not finished. */
export function readFinishedRun(runDir: string, epochs: number, model: string): FinishedRun {
  const checkpoint = latestPath(runDir);
  const loaded = loadTrainingCheckpoint(checkpoint);
  const metadata = readSafetensors(checkpoint).metadata;
  const epochsDone = Number(metadata.epochs_done);
  if (!(epochsDone >= epochs)) {
    throw new TrainingError(`training ${model} stopped at epoch ${epochsDone} of ${epochs}; its checkpoint is ${checkpoint}: run the same compare command again to continue it`);
  }
  const metrics = metricsPath(runDir);
  const epochSeconds = existsSync(metrics)
    ? readFileSync(metrics, 'utf8').split('\n').flatMap((line) => {
      try {
        const l = JSON.parse(line) as { kind?: string; seconds?: number };
        return l.kind === 'epoch' && typeof l.seconds === 'number' ? [l.seconds] : [];
      } catch {
        return [];
      }
    })
    : [];
  return { options: loaded.options, spec: loaded.spec, checkpoint, step: Number(metadata.step), epochsDone, epochSeconds };
}

export const runDirOf = (runs: string, model: string) => join(runs, model);
