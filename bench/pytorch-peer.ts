// The PyTorch peer: bench/pytorch/step.py run as a child process (python3 with Debian's python3-torch, on the
// CPU), timing the same DCGAN step as atelier's. Before it is timed it is shown to be the same model: the layer
// facts of bench/model-check.ts, and G's and D's outputs on atelier's own weights and inputs (passed in a
// safetensors file) within float tolerance. Skipped with one line when the interpreter or torch is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../src/runtime/engine.js';
import { buildGenerator, buildDiscriminator, dcganInit } from '../src/gan/models.js';
import { moduleState, readTensor, type TensorRecord } from '../src/gan/checkpoint.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { randn } from '../src/tensor/ops/create.js';
import { noGrad, tidy } from '../src/tensor/autograd.js';
import { setRngState } from '../src/tensor/state.js';
import { LATENT_DIM, type ModelFacts } from './model-check.js';
import type { PeerFigures } from './peers.js';

/** Set to run another interpreter than `python3` (e.g. a virtual environment's). */
export const PYTHON_ENV = 'ATELIER_PYTHON';
/** Where Debian's BLAS alternatives keep their libblas.so.3 and liblapack.so.3 (put first on LD_LIBRARY_PATH). */
const LIB = '/usr/lib/x86_64-linux-gnu';
export const BLAS_DIRS = {
  reference: { dirs: [`${LIB}/blas`, `${LIB}/lapack`], install: 'libblas3 liblapack3' },
  openblas: { dirs: [`${LIB}/openblas-openmp`], install: 'libopenblas0-openmp' },
  'openblas-pthread': { dirs: [`${LIB}/openblas-pthread`], install: 'libopenblas0-pthread' },
} as const;
export type BlasChoice = 'system' | keyof typeof BLAS_DIRS;
export const BLAS_CHOICES = ['system', ...Object.keys(BLAS_DIRS)] as BlasChoice[];

// bench/pytorch/step.py beside this file when run from source (vitest), two levels up from dist/bench when built
export const STEP_SCRIPT = ['./pytorch/step.py', '../../bench/pytorch/step.py']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .find((p) => existsSync(p)) ?? 'bench/pytorch/step.py';
/** Outputs compared on a batch of this many (batchnorm in training mode needs more than one value per channel). */
const CHECK_BATCH = 4;
/** Largest |atelier − PyTorch| / (|PyTorch| + 1e-3) accepted for the same weights and inputs (float32 both). */
export const OUTPUT_TOLERANCE = 1e-3;

/**
 * The interpreters to try, in order: $ATELIER_PYTHON alone when set, else `python3` on PATH and then Debian's
 * /usr/bin/python3 (where python3-torch installs torch, when PATH's python3 is another one, e.g. pyenv's).
 */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = env[PYTHON_ENV];
  return chosen ? [chosen] : ['python3', DEBIAN_PYTHON];
}
const DEBIAN_PYTHON = '/usr/bin/python3';

export type TorchDetection = { ok: true; python: string; version: string } | { ok: false; message: string };

function importTorch(python: string, env: NodeJS.ProcessEnv): { version: string } | { why: string } {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env, timeout: 120_000 });
  if (r.status === 0) return { version: r.stdout.trim() };
  if (r.error) return { why: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${python} not found` : r.error.message };
  return { why: (r.stderr ?? '').trim().split('\n').pop() || `exit status ${r.status}` };
}

/**
 * The first of pythonCandidates(env) that can `import torch`. Otherwise one line (the skip message) with the
 * first candidate's reason and the fix.
 */
export function detectTorch(env: NodeJS.ProcessEnv = process.env): TorchDetection {
  const candidates = pythonCandidates(env);
  let firstWhy = '';
  for (const python of candidates) {
    const r = importTorch(python, env);
    if ('version' in r) return { ok: true, python, version: r.version };
    firstWhy ||= r.why;
  }
  return { ok: false, message: `PyTorch peer skipped: ${candidates[0]} -c 'import torch' failed (${firstWhy}); apt-get install python3-torch` };
}

export interface PytorchRun {
  torch: string;
  python: string;
  threads: number;
  build: Record<string, string | boolean>;
  batch: number;
  steps: number;
  warmups: number;
  msPerStep: number;
  times: number[];
  firstStats: number[];
  /** What this process had mapped: 'reference', 'openblas', … */
  blas: string;
  blasLibraries: string[];
  /** Where Debian's libblas.so.3 alternative points. */
  blasAlternative: string | null;
  facts: ModelFacts;
  check?: { G: number[]; D: number[] };
}

/** Runs step.py and parses its JSON; `blas` other than 'system' puts that alternative's directory first on LD_LIBRARY_PATH. */
export function runStepScript(python: string, args: { batch: number; steps: number; warmups: number; threads: number; check?: string; blas?: BlasChoice }): PytorchRun {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(args.threads), OPENBLAS_NUM_THREADS: String(args.threads) };
  if (args.blas && args.blas !== 'system') {
    const { dirs, install } = BLAS_DIRS[args.blas];
    const missing = dirs.find((d) => !existsSync(d));
    if (missing) throw new Error(`BLAS ${args.blas}: ${missing} not found (apt-get install ${install})`);
    env.LD_LIBRARY_PATH = [...dirs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const argv = [STEP_SCRIPT, '--batch', String(args.batch), '--steps', String(args.steps), '--warmups', String(args.warmups), '--threads', String(args.threads)];
  if (args.check) argv.push('--check', args.check);
  const r = spawnSync(python, argv, { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw new Error(`${python} ${STEP_SCRIPT}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${python} ${STEP_SCRIPT} exited with status ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as PytorchRun;
  } catch {
    throw new Error(`${python} ${STEP_SCRIPT}: its last line is not JSON: ${line.slice(0, 120)}`);
  }
}

export interface CheckInputs {
  file: string;
  /** atelier's outputs on the file's weights and inputs, training mode: G(z) [4, 1, 28, 28], D(x) [4, 1]. */
  G: Float32Array;
  D: Float32Array;
}

/**
 * Writes a fresh DCGAN-initialised atelier G and D (seeded) with an input z and x to `file` as safetensors
 * (generator.*, discriminator.*, input.z, input.x) and returns atelier's own outputs on them.
 */
export async function writeCheckInputs(engine: Engine, file: string, seed = 1): Promise<CheckInputs> {
  setRngState(engine, { seed, counter: 0 });
  const G = buildGenerator(engine, LATENT_DIM);
  const D = buildDiscriminator(engine);
  try {
    dcganInit(engine, G);
    dcganInit(engine, D);
    const z = randn(engine, [CHECK_BATCH, LATENT_DIM, 1, 1]);
    const x = randn(engine, [CHECK_BATCH, 1, 28, 28], 0, 0.5);
    const [g, d] = noGrad(engine, () => tidy(engine, () => [G.forward(z), D.forward(x)]));
    const tensors: TensorRecord = {
      ...(await moduleState('generator.', G)), ...(await moduleState('discriminator.', D)),
      'input.z': await readTensor(z), 'input.x': await readTensor(x),
    };
    const out = { file, G: (await readTensor(g)).data, D: (await readTensor(d)).data };
    for (const t of [z, x, g, d]) t.dispose();
    writeSafetensors(file, tensors);
    return out;
  } finally {
    G.dispose();
    D.dispose();
  }
}

/** The largest relative difference, and a problem line per output beyond OUTPUT_TOLERANCE (empty: the same). */
export function outputDifferences(atelier: { G: ArrayLike<number>; D: ArrayLike<number> }, pytorch: { G: number[]; D: number[] }): { worst: number; problems: string[] } {
  let worst = 0;
  const problems: string[] = [];
  for (const net of ['G', 'D'] as const) {
    const a = atelier[net];
    const b = pytorch[net];
    if (a.length !== b.length) {
      problems.push(`${net} output: ${a.length} values in atelier, ${b.length} in pytorch`);
      continue;
    }
    let err = 0;
    for (let i = 0; i < a.length; i++) {
      const e = Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + 1e-3);
      if (!(e <= err)) err = e;
    }
    worst = Math.max(worst, err);
    if (!(err <= OUTPUT_TOLERANCE)) problems.push(`${net} output on the same weights and input: relative difference ${err.toExponential(2)} > ${OUTPUT_TOLERANCE}`);
  }
  return { worst, problems };
}

/** A peer's figures (as the tfjs peers report them) with PyTorch's own: its BLAS and the same-model check. */
export interface PytorchFigures extends Omit<PeerFigures, 'system' | 'threads' | 'adapter'> {
  system: string;
  threads: number;
  blas: string;
  /** Largest relative difference from atelier's G and D outputs on the same weights and input. */
  outputDifference: number;
  outputProblems: string[];
  run: PytorchRun;
}

/** Times the step in PyTorch once per BLAS choice, after the same-model output check; throws if step.py fails. */
export async function benchPytorch(engine: Engine, python: string, opts: { batch: number; runs: number; warmups: number; threads: number; blas: BlasChoice }): Promise<PytorchFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-pytorch-'));
  try {
    const check = await writeCheckInputs(engine, path.join(dir, 'check.safetensors'));
    const run = runStepScript(python, { batch: opts.batch, steps: opts.runs, warmups: opts.warmups, threads: opts.threads, check: check.file, blas: opts.blas });
    const { worst, problems } = run.check ? outputDifferences(check, run.check) : { worst: NaN, problems: ['step.py returned no outputs to check'] };
    const lib = run.blasLibraries.find((l) => /libblas/.test(l)) ?? run.blasLibraries[0] ?? 'no BLAS mapped';
    return {
      system: `pytorch-${run.blas}`,
      detail: `PyTorch ${run.torch} CPU, ${run.blas} BLAS (${lib}), ${run.threads} threads`,
      threads: run.threads, batch: run.batch, msPerStep: run.msPerStep, steps: run.steps, warmups: run.warmups, firstStats: run.firstStats,
      facts: run.facts, blas: run.blas, outputDifference: worst, outputProblems: problems, run,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
