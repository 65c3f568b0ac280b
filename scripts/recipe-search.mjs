#!/usr/bin/env node
// npm run recipe-search -- [--recipes NAME,NAME|all] [--out DIR] [--n N] [-- TRAIN FLAGS…]
// Issue 16's recipe search in one command: trains every named recipe (src/node/recipes.ts) into DIR/<recipe>,
// evaluates each finished run with `npm run evaluate` at n images, and writes DIR/results.md, one README row
// per recipe: flags, epochs, FID/floor, precision, recall, class KL, conditional accuracy (class-conditional recipes), near-copies, wall time, adapter.
// Run it again after a stop (Ctrl-C, a crash, a reboot): finished runs and evaluations are kept, an unfinished
// run continues from its checkpoint (bitwise as if never stopped). Flags after `--` go to every training run
// (explicit flags win over a recipe's, e.g. -- --epochs 10 --seed 1). Needs `npm run build` first (the npm
// script does it).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file) => join(root, 'dist/src', file);
const USAGE = 'usage: npm run recipe-search -- [--recipes NAME,NAME|all] [--out DIR] [--n N] [-- TRAIN FLAGS…]';

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const own = split < 0 ? argv : argv.slice(0, split);
const trainFlags = split < 0 ? [] : argv.slice(split + 1);
const options = { recipes: 'all', out: 'runs/recipe-search', n: '10000' };
for (let i = 0; i < own.length; i += 2) {
  const key = own[i]?.replace(/^--/, '');
  if (own[i] === '--help' || own[i] === '-h') {
    console.log(USAGE);
    process.exit(0);
  }
  if (!(key in options) || !own[i].startsWith('--')) fail(`${own[i]}: unknown option; ${USAGE}`);
  if (own[i + 1] === undefined) fail(`--${key} needs a value; ${USAGE}`);
  options[key] = own[i + 1];
}
if (!/^\d+$/.test(options.n)) fail(`--n ${options.n}: not a whole number of images`);
if (!existsSync(dist('node/recipes.js'))) fail('dist/ is missing: run `npm run build` first (or use `npm run recipe-search`)');

const { RECIPES, RECIPE_NAMES, SEARCH_RECIPE_NAMES, recipeArgs } = await import(dist('node/recipes.js'));
const names = options.recipes === 'all' ? SEARCH_RECIPE_NAMES : options.recipes.split(',');
for (const name of names) if (!RECIPE_NAMES.includes(name)) fail(`--recipes: unknown recipe ${JSON.stringify(name)}; use all or a comma list of ${RECIPE_NAMES.join(', ')}`);

let interrupted = false;
process.on('SIGINT', () => { interrupted = true; });
process.on('SIGTERM', () => { interrupted = true; });

/** A training checkpoint's metadata, parsed (the safetensors header's __metadata__). */
function checkpointMetadata(path) {
  const bytes = readFileSync(path);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  return header.__metadata__ ?? {};
}

function run(script, args) {
  const result = spawnSync(process.execPath, [dist(script), ...args], { stdio: 'inherit', cwd: root });
  return result.status ?? 1;
}

/** Trains (or continues) one recipe; returns the checkpoint path when its epochs are all done, else a reason. */
function trainRecipe(name, dir) {
  const latest = join(dir, 'checkpoints/latest.safetensors');
  const args = existsSync(latest) ? ['--resume', dir] : ['--recipe', name, '--out', dir, ...trainFlags];
  const status = run('cli/train.js', args);
  if (status !== 0) return { error: `training exited with ${status}` };
  if (!existsSync(latest)) return { error: 'no checkpoint was written' };
  const metadata = checkpointMetadata(latest);
  const epochs = JSON.parse(metadata.config).epochs;
  if (Number(metadata.epochs_done) < epochs) return { error: `stopped after ${metadata.epochs_done} of ${epochs} epochs; run the search again to continue` };
  return { checkpoint: latest, epochs, config: JSON.parse(metadata.config) };
}

function evaluateRun(checkpoint, json) {
  if (existsSync(json) && statSync(json).mtimeMs >= statSync(checkpoint).mtimeMs) return JSON.parse(readFileSync(json, 'utf8'));
  const status = run('cli/evaluate.js', ['--checkpoint', checkpoint, '--n', options.n, '--json', json]);
  return status === 0 && existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : { error: `evaluate exited with ${status}` };
}

/** Wall time of the training itself: the sum of its epochs' seconds (whole across resumes). */
function trainingSeconds(dir) {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) return NaN;
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'epoch').reduce((s, l) => s + l.seconds, 0);
}

const fixed = (v, d) => (typeof v === 'number' ? v.toFixed(d) : '–');
const minutes = (s) => (Number.isFinite(s) ? `${(s / 60).toFixed(1)} min` : '–');
const rows = [];
mkdirSync(options.out, { recursive: true });
for (const name of names) {
  if (interrupted) break;
  const recipe = RECIPES.find((r) => r.name === name);
  const dir = join(options.out, name);
  // The flags a run was started with (a later search may pass other ones; the run keeps its own).
  const flagsFile = join(dir, 'search-flags.json');
  if (!existsSync(join(dir, 'checkpoints/latest.safetensors'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(flagsFile, JSON.stringify([...recipeArgs(recipe, new Set()), ...trainFlags]) + '\n');
  }
  const flags = (existsSync(flagsFile) ? JSON.parse(readFileSync(flagsFile, 'utf8')) : []).join(' ') || '(defaults)';
  console.log(`\n=== recipe ${name}: ${flags}`);
  const trained = trainRecipe(name, dir);
  if (interrupted) break;
  const e = trained.error ? trained : evaluateRun(trained.checkpoint, join(dir, 'evaluate.json'));
  if (e.error) {
    rows.push(`| ${name} | ${flags} | – | ${e.error} | | | | | | | |`);
    continue;
  }
  rows.push(`| ${name} | ${flags} | ${trained.epochs} | ${fixed(e.fid_ratio, 1)}× | ${fixed(e.precision, 3)} | ${fixed(e.recall, 3)} | ${fixed(e.class_kl, 4)} | ` +
    `${e.conditional ? fixed(e.conditional.accuracy, 3) : '–'} | ${e.memorization?.generated?.below ?? '–'} | ${minutes(trainingSeconds(dir))} | ${e.adapter} |`);
}
const table = [
  `Recipe search (n = ${options.n}; ${new Date().toISOString().slice(0, 10)}). Near copies: generated images within L2 1.0 of a training image.`,
  '',
  '| recipe | flags | epochs | FID/floor | precision | recall | class KL | cond. accuracy | near copies | training wall time | adapter |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
writeFileSync(join(options.out, 'results.md'), table + '\n');
console.log(`\n${table}\n\nwritten to ${join(options.out, 'results.md')}${interrupted ? ' (interrupted: run the same command again to continue)' : ''}`);
process.exit(interrupted ? 130 : 0);
