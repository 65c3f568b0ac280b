// Tiny Fashion-MNIST-shaped data sets for tests that train: the four IDX files in a folder, as the real set is laid
// out (images gzipped, labels plain), with image i of class i mod 10.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rng } from './helpers.js';

/** An IDX file of unsigned bytes: magic 0x0000 08 <rank>, the dimensions big-endian, then the data. */
export function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** Image i of class c: the pixels at flat index p (0…783), given the noise stream. */
export type TinyImage = (p: number, c: number, noise: () => number) => number;

/** A blurry blob whose position depends on the class, with noise: something to learn. */
export const blob: TinyImage = (p, c, noise) => {
  const d = Math.hypot((p % 28) - (6 + c * 1.6), Math.floor(p / 28) - 14) / 6;
  return Math.min(255, Math.round(255 * Math.exp(-d * d) + 20 * noise()));
};

/** Writes train-* and t10k-* IDX files of `train` and `test` 28×28 images into `dir`, drawn with `seed`. */
export function writeTinyFashionMnist(dir: string, { train, test, seed, image = blob }: { train: number; test: number; seed: number; image?: TinyImage }): void {
  const r = rng(seed);
  for (const [prefix, n] of [['train', train], ['t10k', test]] as const) {
    const images = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10;
      for (let p = 0; p < 784; p++) images[i * 784 + p] = image(p, labels[i], r);
    }
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idx([n, 28, 28], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([n], labels));
  }
}
