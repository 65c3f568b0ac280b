// `npm run generate`: images from a trained generator — a grid, optionally each image as its own PNG, and a
// latent-interpolation grid.
import { join, extname, relative } from 'node:path';
import type { Engine } from '../runtime/engine.js';
import { tensor, randn } from '../tensor/ops/create.js';
import { generatePixels, sampleLatents } from '../gan/sampling.js';
import { conditionalInput, generatorInput } from '../gan/network.js';
import { FASHION_MNIST, resolveClasses } from '../data/fashion-mnist.js';
import type { LoadedGenerator } from '../gan/generator-state.js';
import { samplePixels } from '../gan/sample.js';
import { readSafetensors } from '../io/safetensors.js';
import { imageGrid, encodePng } from '../io/png.js';
import { createNodeEngine } from '../node/gpu.js';
import { loadGenerator } from '../node/load-generator.js';
import { inspectGeneratorState } from '../gan/generator-state.js';
import { readModelSpec } from '../gan/model-spec.js';
import { readSamplingTemperature, MAX_TEMPERATURE } from '../gan/sampling-temperature.js';
import { parse, num, str, list, runCli, UsageError, HelpRequest, optionalNum } from '../node/args.js';
import { checkOutputs, OutputWriter } from '../node/outputs.js';
import { checkpointOf } from '../node/run-folder.js';
import { DEFAULT_GENERATOR, shippedModelPath } from '../node/package-files.js';

export const GENERATE_USAGE = `usage: npm run generate -- [--checkpoint FILE] [options]
  --checkpoint FILE   a training checkpoint (checkpoints/*.safetensors), a run folder or a generator file
                      (default: the best shipped generator, models/${DEFAULT_GENERATOR})
  --n N               images to generate, 1 to 10,000 (default 64), all in the grid (run on the GPU in chunks)
  --seed S            seed for z (default 0)
  --temperature T     standard deviation of z (default the file's own, stored by export-generator --temperature;
                      1, as trained, for most files); below 1: more typical, less varied images
  --out FILE          grid PNG (default grid.png)
  --each DIR          also write every image as DIR/NNNN.png
  --interpolate K     also write <out>_interpolation.png: rows of K steps between random pairs of z
  --trained           use the last step's weights even when the checkpoint has a moving average (--ema)
  --class NAME|INDEX  a class-conditional checkpoint (train --conditional) makes only this class, e.g. --class
                      sneaker; repeat it to split the images across classes in turn. --class all: a grid with
                      one row per class of --n ÷ classes images each (default 8), the same z in every row`;

export interface GenerateResult {
  files: string[];
  /** The generator file used (--checkpoint, or the shipped default). */
  checkpoint: string;
  /** True when --checkpoint was omitted and the shipped default was used. */
  usedDefault: boolean;
  /** The standard deviation of z used, and whether it was the file's own (no --temperature). */
  temperature: number;
  fileTemperature: boolean;
}

/** Spherical interpolation: keeps interpolated Gaussian vectors at a typical norm (linear ones shrink mid-way). */
function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))));
  const out = new Float32Array(a.length);
  const s = Math.sin(omega);
  for (let i = 0; i < a.length; i++) {
    out[i] = s < 1e-6 ? (1 - t) * a[i] + t * b[i] : (Math.sin((1 - t) * omega) / s) * a[i] + (Math.sin(t * omega) / s) * b[i];
  }
  return out;
}

function gridPng(pixels: Float32Array, count: number, h: number, w: number, cols: number): Uint8Array {
  const grid = imageGrid(pixels, count, h, w, { cols, pad: 2, range: [-1, 1] });
  return encodePng(grid.width, grid.height, grid.pixels);
}

/** `--each` file names: 0000.png, 0001.png, … (more digits from 10,000 images). */
export function eachNames(n: number): string[] {
  const digits = Math.max(4, String(n - 1).length);
  return Array.from({ length: n }, (_, i) => `${String(i).padStart(digits, '0')}.png`);
}

/** Where --interpolate writes: <out without its extension>_interpolation.png. */
export const interpolationPath = (out: string) => `${out.slice(0, out.length - extname(out).length)}_interpolation.png`;

/** --class values → class indices (names of FASHION_MNIST_CLASSES or indices), each below the model's class count. */
function pickClasses(values: string[], classes: number): number[] {
  const out: number[] = [];
  for (const value of values) {
    let index: number;
    try {
      [index] = resolveClasses(FASHION_MNIST, [value]);
    } catch (e) {
      throw new UsageError(`--class ${value}: ${(e as Error).message.replace(/^Fashion-MNIST: /, '')}, or all`);
    }
    if (index >= classes) throw new UsageError(`--class ${value}: the checkpoint's model has ${classes} classes (0…${classes - 1}); pick one of those`);
    if (!out.includes(index)) out.push(index);
  }
  return out;
}

/** `perRow` images of every class of a conditional generator, row by row, with the same z (seed, 0) in every row. */
async function everyClassPixels(engine: Engine, loaded: LoadedGenerator, perRow: number, seed: number, temperature: number, chunk?: number) {
  const classes = loaded.classes!;
  const drawn = sampleLatents(engine, perRow, loaded.latentDim, { seed, counter: 0 }, temperature);
  const row = await drawn.toArray();
  drawn.dispose();
  const zs = new Float32Array(classes * row.length);
  for (let c = 0; c < classes; c++) zs.set(row, c * row.length);
  const z = tensor(engine, zs, [classes * perRow, loaded.latentDim, 1, 1]);
  const input = conditionalInput(engine, z, Int32Array.from({ length: classes * perRow }, (_, i) => Math.floor(i / perRow)), classes);
  z.dispose();
  try {
    return await generatePixels(engine, loaded.G, input, chunk);
  } finally {
    input.dispose();
  }
}

export interface GenerateOptions {
  /** Images per chunk on the GPU (default: inferenceChunk for the generator's width); for tests. */
  chunk?: number;
}

export async function generateImages(argv: string[], engine?: Engine, options: GenerateOptions = {}): Promise<GenerateResult> {
  const v = parse(argv, {
    checkpoint: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, temperature: { type: 'string' }, out: { type: 'string' },
    each: { type: 'string' }, interpolate: { type: 'string' }, trained: { type: 'boolean' }, class: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  }, GENERATE_USAGE);
  if (v.help) throw new HelpRequest(GENERATE_USAGE);
  const given = checkpointOf(str(v, 'checkpoint'));
  let checkpoint: string;
  try {
    checkpoint = given ?? shippedModelPath();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const classFlags = list(v, 'class');
  const all = classFlags.includes('all');
  if (all && classFlags.length > 1) throw new UsageError(`--class all makes every class; give it alone (without --class ${classFlags.filter((c) => c !== 'all').join(', --class ')})`);
  const seed = num(v, 'seed', 0, { int: true, min: 0, max: 2 ** 32 - 1 });
  const asked = optionalNum(v, 'temperature', { minExclusive: 0, max: MAX_TEMPERATURE });
  const out = str(v, 'out') ?? 'grid.png';
  const each = str(v, 'each');
  const steps = num(v, 'interpolate', 0, { int: true, min: 2, max: 64 }); // 0: no interpolation

  const contents = readSafetensors(checkpoint); // refuse a bad file before starting the GPU
  const { spec } = inspectGeneratorState(contents.tensors, checkpoint, { trained: Boolean(v.trained) }, readModelSpec(contents.metadata, checkpoint));
  const stored = readSamplingTemperature(contents.metadata, checkpoint);
  const temperature = asked ?? stored;
  const classes = spec.conditional?.classes;
  if (classFlags.length && classes === undefined) {
    throw new UsageError(`--class ${classFlags[0]}: ${checkpoint} is not class-conditional (trained without --conditional); drop --class, or use a checkpoint trained with --conditional (atelier train --conditional)`);
  }
  const picked = all ? [] : classFlags.length ? pickClasses(classFlags, classes!) : undefined;
  // --class all: one row per class; --n counts every image, default 8 per row.
  const perRow = all ? Math.ceil(num(v, 'n', 8 * classes!, { int: true, min: 1, max: 10000 }) / classes!) : 0;
  const n = all ? perRow * classes! : num(v, 'n', 64, { int: true, min: 1, max: 10000 });
  // Repeated --class: the images in blocks of each class in turn.
  const labels = picked ? Int32Array.from({ length: n }, (_, i) => picked[Math.floor((i * picked.length) / n)]) : undefined;
  const names = each ? eachNames(n) : [];
  checkOutputs({
    files: [{ flag: '--out', path: out }, ...(steps ? [{ flag: '--interpolate', path: interpolationPath(out) }] : [])],
    folders: each ? [{ flag: '--each', path: each, files: names }] : [],
    inputs: [{ flag: '--checkpoint', path: checkpoint }],
  });
  const gpu = engine ?? (await createNodeEngine());
  const loaded = loadGenerator(gpu, checkpoint, contents, { trained: Boolean(v.trained) });
  const { G, latentDim } = loaded;
  const writer = new OutputWriter();
  try {
    // z is drawn whole from the key (seed, 0), then G runs in chunks: the images do not depend on the chunking.
    // The same function as the library's sample(), before its mapping to [0, 1].
    const { pixels, height: h, width: w } = all
      ? await everyClassPixels(gpu, loaded, perRow, seed, temperature, options.chunk)
      : await samplePixels(gpu, loaded, { n, seed, temperature, chunk: options.chunk, labels });
    writer.write('--out', out, gridPng(pixels, n, h, w, all ? perRow : Math.ceil(Math.sqrt(n))));
    if (each) {
      for (let i = 0; i < n; i++) {
        const one = imageGrid(pixels.subarray(i * h * w, (i + 1) * h * w), 1, h, w, { cols: 1, pad: 0, range: [-1, 1] });
        writer.write('--each', join(each, names[i]), encodePng(one.width, one.height, one.pixels));
      }
    }
    if (steps) {
      const rows = 8;
      const endsTensor = randn(gpu, [2 * rows, latentDim], 0, temperature, { key: { seed: (seed + 1) >>> 0, counter: 0 } });
      const ends = await endsTensor.toArray();
      endsTensor.dispose();
      const zs = new Float32Array(rows * steps * latentDim);
      for (let r = 0; r < rows; r++) {
        const a = ends.subarray(2 * r * latentDim, (2 * r + 1) * latentDim);
        const b = ends.subarray((2 * r + 1) * latentDim, (2 * r + 2) * latentDim);
        for (let k = 0; k < steps; k++) zs.set(slerp(a, b, k / (steps - 1)), (r * steps + k) * latentDim);
      }
      const zs0 = tensor(gpu, zs, [rows * steps, latentDim, 1, 1]);
      // A conditional G: row r interpolates within one class (the --class ones in turn, else every class in turn).
      const rowClass = (r: number) => (picked?.length ? picked[r % picked.length] : r % classes!);
      const zi = generatorInput(gpu, G, zs0, classes === undefined ? undefined : Int32Array.from({ length: rows * steps }, (_, i) => rowClass(Math.floor(i / steps))));
      if (zi !== zs0) zs0.dispose();
      let interp;
      try {
        interp = await generatePixels(gpu, G, zi, options.chunk);
      } finally {
        zi.dispose();
      }
      writer.write('--interpolate', interpolationPath(out), gridPng(interp.pixels, rows * steps, h, w, steps));
    }
  } finally {
    G.dispose();
  }
  return { files: writer.written, checkpoint, usedDefault: given === undefined, temperature, fileTemperature: asked === undefined };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { files, checkpoint, usedDefault, temperature, fileTemperature } = await generateImages(process.argv.slice(2));
    if (usedDefault) console.log(`generator: ${relative(process.cwd(), checkpoint)} (the shipped default; --checkpoint FILE picks another)`);
    if (fileTemperature && temperature !== 1) console.log(`z at temperature ${temperature}, the file's own (--temperature T picks another)`);
    console.log(`wrote ${files.length > 3 ? `${files.slice(0, 2).join(', ')} and ${files.length - 2} more` : files.join(', ')}`);
    return 0;
  });
}
