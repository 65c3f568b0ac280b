// `npm run generate`: images from a trained generator — a grid, optionally each image as its own PNG, and a
// latent-interpolation grid.
import { mkdirSync } from 'node:fs';
import { dirname, join, extname } from 'node:path';
import type { Engine } from '../tensor/engine.js';
import { tensor, randn } from '../tensor/ops/create.js';
import { generate } from '../gan/trainer.js';
import { loadGeneratorState, inspectGeneratorState, type LoadedGenerator } from '../gan/generator-state.js';
import { readSafetensors } from '../io/safetensors.js';
import { imageGrid, writePng } from '../io/png.js';
import { createNodeEngine } from '../node/gpu.js';
import { parse, num, str, runCli, UsageError, HelpRequest } from './args.js';
import { writeImagesGrid } from './images.js';

export const GENERATE_USAGE = `usage: npm run generate -- --checkpoint FILE [options]
  --checkpoint FILE   a training checkpoint (checkpoints/*.safetensors) or a generator file
  --n N               images in the grid (default 64)
  --seed S            seed for z (default 0)
  --temperature T     standard deviation of z (default 1, as trained); below 1: more typical, less varied images
  --out FILE          grid PNG (default grid.png)
  --each DIR          also write every image as DIR/NNNN.png
  --interpolate K     also write <out>_interpolation.png: rows of K steps between random pairs of z
  --trained           use the last step's weights even when the checkpoint has a moving average (--ema)`;

export interface GenerateResult {
  files: string[];
}

export type { LoadedGenerator } from '../gan/generator-state.js';

/**
 * Builds a generator from a checkpoint's tensors, checking every name, shape, dtype and value against the
 * architecture before anything is allocated (see inspectGeneratorState). Takes the moving average of the weights
 * when the checkpoint has one, unless `trained` asks for the last step's weights.
 */
export function loadGenerator(engine: Engine, path: string, contents = readSafetensors(path), options: { trained?: boolean } = {}): LoadedGenerator {
  return loadGeneratorState(engine, contents.tensors, path, options);
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

export async function generateImages(argv: string[], engine?: Engine): Promise<GenerateResult> {
  const v = parse(argv, {
    checkpoint: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, temperature: { type: 'string' }, out: { type: 'string' },
    each: { type: 'string' }, interpolate: { type: 'string' }, trained: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, GENERATE_USAGE);
  if (v.help) throw new HelpRequest(GENERATE_USAGE);
  const checkpoint = str(v, 'checkpoint');
  if (!checkpoint) throw new UsageError(`--checkpoint FILE is required\n\n${GENERATE_USAGE}`);
  const n = num(v, 'n', 64, { int: true, min: 1, max: 10000 });
  const seed = num(v, 'seed', 0, { int: true, min: 0, max: 2 ** 32 - 1 });
  const temperature = num(v, 'temperature', 1, { minExclusive: 0, max: 10 });
  const out = str(v, 'out') ?? 'grid.png';
  const each = str(v, 'each');
  const steps = v.interpolate === undefined ? 0 : num(v, 'interpolate', 0, { int: true, min: 2, max: 64 });

  const contents = readSafetensors(checkpoint); // refuse a bad file before starting the GPU
  inspectGeneratorState(contents.tensors, checkpoint, { trained: Boolean(v.trained) });
  const gpu = engine ?? (await createNodeEngine());
  const { G, latentDim } = loadGenerator(gpu, checkpoint, contents, { trained: Boolean(v.trained) });
  const files: string[] = [];
  try {
    mkdirSync(dirname(out) || '.', { recursive: true });
    const z = randn(gpu, [n, latentDim, 1, 1], 0, temperature, { seed });
    const images = generate(gpu, G, z);
    z.dispose();
    await writeImagesGrid(images, out, Math.ceil(Math.sqrt(n)));
    files.push(out);
    if (each) {
      mkdirSync(each, { recursive: true });
      const pixels = await images.toArray();
      const [, , h, w] = images.shape;
      for (let i = 0; i < n; i++) {
        const one = imageGrid(pixels.subarray(i * h * w, (i + 1) * h * w), 1, h, w, { cols: 1, pad: 0, range: [-1, 1] });
        const path = join(each, `${String(i).padStart(4, '0')}.png`);
        writePng(path, one.width, one.height, one.pixels);
        files.push(path);
      }
    }
    images.dispose();
    if (steps) {
      const rows = 8;
      const ends = await randn(gpu, [2 * rows, latentDim], 0, temperature, { seed: (seed + 1) >>> 0 }).toArray();
      const zs = new Float32Array(rows * steps * latentDim);
      for (let r = 0; r < rows; r++) {
        const a = ends.subarray(2 * r * latentDim, (2 * r + 1) * latentDim);
        const b = ends.subarray((2 * r + 1) * latentDim, (2 * r + 2) * latentDim);
        for (let k = 0; k < steps; k++) zs.set(slerp(a, b, k / (steps - 1)), (r * steps + k) * latentDim);
      }
      const zi = tensor(gpu, zs, [rows * steps, latentDim, 1, 1]);
      const interp = generate(gpu, G, zi);
      zi.dispose();
      const path = `${out.slice(0, out.length - extname(out).length)}_interpolation.png`;
      await writeImagesGrid(interp, path, steps);
      interp.dispose();
      files.push(path);
    }
  } finally {
    G.dispose();
  }
  return { files };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { files } = await generateImages(process.argv.slice(2));
    console.log(`wrote ${files.length > 3 ? `${files.slice(0, 2).join(', ')} and ${files.length - 2} more` : files.join(', ')}`);
    return 0;
  });
}
