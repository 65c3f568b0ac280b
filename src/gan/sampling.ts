// Inference in chunks: a batch the user chooses (generate --n, evaluate --n, the critic's scoring) is run
// through G, D or the classifier a few hundred images at a time, so that no buffer outgrows the device's
// maxStorageBufferBindingSize (WebGPU guarantees 128 MiB; a DCGAN of width 64 needs 200,704 bytes per image in
// its widest buffer, so 669 images at once failed). Chunks change no numbers: z is drawn before it is split,
// and G and D run in eval mode, where each image's output depends on that image alone.
import type { Engine } from '../runtime/engine.js';
import { bufferLimit } from '../runtime/device.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Sequential } from '../nn/layers.js';
import { tensor, randn, type RandomKey } from '../tensor/ops/create.js';
import { generate } from './trainer.js';
import { DEFAULT_WIDTH } from './models.js';
import { Network } from './spec.js';

/** Images per inference chunk at most, whatever the device allows. */
export const INFERENCE_CHUNK = 256;

/**
 * Bytes per image of the widest buffer in a DCGAN generator or discriminator whose layer next to the image has
 * `width` channels: the unfolded columns of its middle convolution, width·4·4 × 7·7 floats.
 */
export const dcganBytesPerImage = (width: number) => 4 * width * 16 * 49;

/**
 * The most images to run through a DCGAN G or D of `width` at once: INFERENCE_CHUNK (256), or fewer when the
 * widest buffer of that many would exceed the device's maxStorageBufferBindingSize (from width 168 upwards on a
 * device with the guaranteed 128 MiB; 42 images at the largest --ngf, 1024). Given a network built from a spec
 * (spec.ts Network), its own largest per-image buffer decides. At least 1.
 */
export function inferenceChunk(engine: Engine, width: number | Sequential = DEFAULT_WIDTH): number {
  const limit = bufferLimit(engine.device?.limits);
  // A network built from a spec knows its largest per-image buffer; a bare DCGAN is sized by its width.
  const bytes = typeof width === 'number' ? dcganBytesPerImage(width) : width instanceof Network ? width.bytesPerImage : dcganBytesPerImage(generatorWidth(width));
  return Math.max(1, Math.min(INFERENCE_CHUNK, Math.floor(limit / bytes)));
}

/** Channels of a DCGAN generator's layer next to the image (ngf), read from its first weight [latent, 2·ngf, 7, 7]. */
export function generatorWidth(G: Sequential): number {
  const first = G.parameters()[0];
  return first?.shape.length === 4 ? first.shape[1] / 2 : DEFAULT_WIDTH;
}

export interface Chunk {
  start: number;
  count: number;
}

/**
 * 0…n−1 as ceil(n / max) consecutive chunks of nearly equal size (they differ by at most one): never a short
 * last chunk, so that a batch of a few images does not take a different kernel plan than the rest.
 * Throws for n < 0 or max < 1 (either not a whole number).
 */
export function chunkRanges(n: number, max: number): Chunk[] {
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`chunkRanges: n must be a whole number ≥ 0, got ${n}`);
  if (!(Number.isInteger(max) && max >= 1)) throw new Error(`chunkRanges: the chunk size must be a whole number ≥ 1, got ${max}`);
  const parts = Math.ceil(n / max);
  const chunks: Chunk[] = [];
  for (let i = 0, start = 0; i < parts; i++) {
    const count = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    chunks.push({ start, count });
    start += count;
  }
  return chunks;
}

/**
 * G(z) for z [n, latentDim, 1, 1] on the GPU, `chunk` images at a time; calls `use(images, start)` with each
 * chunk's images [m, C, H, W] in order, and disposes them after. z itself is left alone. When n ≤ chunk, G
 * runs on z as it is; otherwise z is read back and its rows uploaded chunk by chunk.
 */
export async function forEachGenerated(engine: Engine, G: Sequential, z: Tensor, chunk: number, use: (images: Tensor, start: number) => Promise<void> | void): Promise<void> {
  const n = z.shape[0];
  if (n <= chunk) {
    const images = generate(engine, G, z);
    try {
      await use(images, 0);
    } finally {
      images.dispose();
    }
    return;
  }
  const rows = await z.toArray();
  const row = rows.length / n;
  for (const { start, count } of chunkRanges(n, chunk)) {
    const part = tensor(engine, rows.subarray(start * row, (start + count) * row), [count, ...z.shape.slice(1)]);
    let images: Tensor | undefined;
    try {
      images = generate(engine, G, part);
      await use(images, start);
    } finally {
      part.dispose();
      images?.dispose();
    }
  }
}

export interface GeneratedPixels {
  /** n×H×W in [−1, 1] (G's single channel). */
  pixels: Float32Array;
  count: number;
  height: number;
  width: number;
}

/** G(z) for z [n, latentDim, 1, 1], in chunks of at most `chunk` images (default inferenceChunk for G), on the host. */
export async function generatePixels(engine: Engine, G: Sequential, z: Tensor, chunk = inferenceChunk(engine, G)): Promise<GeneratedPixels> {
  const n = z.shape[0];
  let out: GeneratedPixels | undefined;
  await forEachGenerated(engine, G, z, chunk, async (images, start) => {
    const [, c, h, w] = images.shape;
    out ??= { pixels: new Float32Array(n * c * h * w), count: n, height: h, width: w };
    out.pixels.set(await images.toArray(), start * c * h * w);
  });
  return out ?? { pixels: new Float32Array(0), count: 0, height: 0, width: 0 };
}

/** z [n, latentDim, 1, 1] ~ N(0, temperature²) from the key (seed, counter): the same key, the same z, whatever the chunking. */
export function sampleLatents(engine: Engine, n: number, latentDim: number, key: RandomKey, temperature = 1): Tensor {
  return randn(engine, [n, latentDim, 1, 1], 0, temperature, { key });
}
