// A training run's folder: refusing to start over an existing run, checking every output can be written,
// cutting records past the checkpoint a run resumes from, and clearing an old run for --overwrite.
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic, removeStaleTempFiles } from '../io/atomic.js';
import { ensureWritableDir, ensureNotDirectory } from '../io/writable.js';
import { withFileErrors } from '../io/fs-errors.js';
import { UsageError } from './args.js';

export const RUN_SUBFOLDERS = ['samples', 'checkpoints'];
export const latestPath = (outDir: string) => join(outDir, 'checkpoints', 'latest.safetensors');
export const metricsPath = (outDir: string) => join(outDir, 'metrics.jsonl');
export const lossCurvePath = (outDir: string) => join(outDir, 'loss.png');

/**
 * What `--checkpoint` names: a run folder or its checkpoints folder stands for its latest checkpoint (as `train
 * --resume` takes one); any other path is returned as given, for the reader to accept or refuse.
 */
export function checkpointOf(path: string): string;
export function checkpointOf(path: string | undefined): string | undefined;
export function checkpointOf(path: string | undefined): string | undefined {
  if (path === undefined || !existsSync(path) || !statSync(path).isDirectory()) return path;
  return [latestPath(path), join(path, 'latest.safetensors')].find((p) => existsSync(p)) ?? path;
}

export const samePath = (a: string, b: string) => resolve(a) === resolve(b);

/**
 * A folder that holds a run (checkpoints/latest.safetensors) is continued only with --resume of that run and
 * replaced only with --overwrite. Reads only: call it before creating anything.
 */
export function refuseExistingRun(outDir: string, { resumingHere, overwrite }: { resumingHere: boolean; overwrite: boolean }): void {
  if (resumingHere || overwrite || !existsSync(latestPath(outDir))) return;
  throw new UsageError(`--out ${outDir} already holds a run (${latestPath(outDir)}); continue it with --resume ${outDir}, ` +
    `start over with --overwrite (its checkpoints, samples and metrics are replaced), or choose another --out`);
}

/** Makes the run folder and its subfolders and checks every output can be written there (FileError if not). */
export function prepareRunFolder(outDir: string): void {
  ensureWritableDir(outDir, RUN_SUBFOLDERS, '--out');
  for (const file of [metricsPath(outDir), lossCurvePath(outDir), latestPath(outDir)]) ensureNotDirectory(file, '--out');
}

/** Removes temp files of writes a kill interrupted (only under the run's lock). */
export function removeStaleFiles(outDir: string): string[] {
  return [outDir, ...RUN_SUBFOLDERS.map((s) => join(outDir, s))].flatMap((dir) => removeStaleTempFiles(dir).map((n) => join(dir, n)));
}

/** --overwrite: removes what an earlier run wrote (checkpoints, samples, metrics, loss curve) and nothing else. */
export function clearPreviousRun(outDir: string): void {
  for (const sub of RUN_SUBFOLDERS) {
    const dir = join(outDir, sub);
    const ours = sub === 'samples' ? /^(epoch|step)_\d+\.png$/ : /^(latest|epoch_\d+)\.safetensors$/;
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (ours.test(name)) withFileErrors(join(dir, name), 'remove', () => rmSync(join(dir, name)));
    }
  }
  for (const file of [metricsPath(outDir), lossCurvePath(outDir)]) withFileErrors(file, 'remove', () => rmSync(file, { force: true }));
}

export interface MetricsLine {
  kind: string;
  step: number;
  loss_d: number;
  loss_g: number;
  [key: string]: unknown;
}

/**
 * Keeps the lines of metrics.jsonl up to `step` (the checkpoint a run continues from) and drops the rest, with any
 * torn last line: records past a checkpoint were never committed, and the resumed run writes them again.
 * Returns the kept lines; rewrites the file (atomically) only when something was dropped.
 */
export function truncateMetrics(path: string, step: number): MetricsLine[] {
  if (!existsSync(path)) return [];
  const text = withFileErrors(path, 'read', () => readFileSync(path, 'utf8'));
  const kept: MetricsLine[] = [];
  const keptText: string[] = [];
  let dropped = false;
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    let line: MetricsLine | undefined;
    try {
      line = JSON.parse(raw) as MetricsLine;
    } catch {
      line = undefined;
    }
    if (!line || typeof line.step !== 'number' || line.step > step) {
      dropped = true;
      continue;
    }
    kept.push(line);
    keptText.push(raw);
  }
  if (dropped || (text.length > 0 && !text.endsWith('\n'))) {
    withFileErrors(path, 'rewrite', () => writeFileAtomic(path, keptText.map((l) => l + '\n').join('')));
  }
  return kept;
}
