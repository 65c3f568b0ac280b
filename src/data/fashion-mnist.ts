// Loads (Fashion-)MNIST from IDX files into N×1×H×W float images scaled to [-1, 1], optionally keeping only some
// classes and the first `limit` matches.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, readIdx, type IdxHeader } from './idx.js';

export const FASHION_MNIST_CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'] as const;

export const DEFAULT_DATA_DIR = '/usr/share/datasets/fashion-mnist';

export type Split = 'train' | 'test';

export interface LoadOptions {
  dir?: string;
  split: Split;
  /** Class names (case-insensitive, '-', '_' and ' ' alike) or indices; all classes when absent. */
  classes?: (string | number)[];
  /** Keep the first `limit` images after class filtering. */
  limit?: number;
  /**
   * [height, width] the images must have (default the spec's, 28×28: what the models are built for); 'any'
   * accepts every size (for tools that do not feed a model).
   */
  imageSize?: readonly [number, number] | 'any';
}

export interface Dataset {
  /** count×1×height×width, pixel p mapped to p/127.5 − 1. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  /** The selected class indices, ascending. */
  classes: number[];
}

/** What `loadMnistLike` needs to know about a dataset laid out like MNIST. */
export interface MnistLikeSpec {
  name: string;
  classNames: readonly string[];
  /** Extra accepted spellings, by normalised name (see `classKey`). */
  aliases?: Record<string, number>;
  defaultDir: string;
  /** Appended to "not found" errors: how to get the files. */
  howToGet: string;
  /** [height, width] of every image. */
  imageSize: readonly [number, number];
}

export const FASHION_MNIST: MnistLikeSpec = {
  name: 'Fashion-MNIST',
  classNames: FASHION_MNIST_CLASSES,
  aliases: { tshirttop: 0, top: 0 },
  defaultDir: DEFAULT_DATA_DIR,
  imageSize: [28, 28],
  howToGet:
    'To get the data: apt-get install dataset-fashion-mnist (Debian\'s package puts the files in /usr/share/datasets/fashion-mnist), ' +
    'or download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, ' +
    't10k-labels-idx1-ubyte.gz) from the Fashion-MNIST repository (https://github.com/zalandoresearch/fashion-mnist) ' +
    'into a folder and pass --data DIR.',
};

export const MNIST: MnistLikeSpec = {
  name: 'MNIST',
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  defaultDir: '/usr/share/datasets/mnist',
  imageSize: [28, 28],
  howToGet:
    'To get the data, download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, ' +
    't10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into a folder and pass --data DIR.',
};

export function loadFashionMnist(options: LoadOptions): Dataset {
  return loadMnistLike(FASHION_MNIST, options);
}

/** 'Ankle boot', 'ankle_boot', 'ANKLE-BOOT' → 'ankleboot'. */
export function classKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Resolves names and indices to ascending unique class indices; all classes when `selection` is absent. */
export function resolveClasses(spec: MnistLikeSpec, selection?: (string | number)[]): number[] {
  const n = spec.classNames.length;
  if (selection === undefined) return [...Array(n).keys()];
  if (selection.length === 0) throw new DataError(`${spec.name}: the class selection is empty; ${validClassesText(spec)}`);
  const byKey = new Map<string, number>(spec.classNames.map((c, i) => [classKey(c), i]));
  for (const [alias, i] of Object.entries(spec.aliases ?? {})) byKey.set(classKey(alias), i);
  const picked = new Set<number>();
  for (const c of selection) {
    let index: number | undefined;
    if (typeof c === 'number') index = c;
    else index = byKey.get(classKey(c)) ?? (/^\s*\d+\s*$/.test(c) ? Number(c) : undefined);
    if (index === undefined || !Number.isInteger(index) || index < 0 || index >= n) {
      throw new DataError(`${spec.name}: unknown class ${JSON.stringify(c)}; ${validClassesText(spec)}`);
    }
    picked.add(index);
  }
  return [...picked].sort((a, b) => a - b);
}

function validClassesText(spec: MnistLikeSpec): string {
  return `valid classes are ${spec.classNames.map((c, i) => `${i} ${c}`).join(', ')}`;
}

/** Finds `<prefix>-<kind>` or `<prefix>-<kind>.gz` in `dir`, raw first. */
function findFile(dir: string, base: string): string | null {
  for (const candidate of [base, `${base}.gz`]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  return null;
}

/**
 * Loads any dataset stored as MNIST's four IDX files (u8 images N×H×W, u8 labels N). Throws DataError naming the
 * file: missing files, a file that is not a regular file, images of another size than `imageSize`, counts that
 * differ, a label outside the classes, and everything readIdx refuses.
 */
export function loadMnistLike(spec: MnistLikeSpec, { dir = spec.defaultDir, split, classes, limit, imageSize }: LoadOptions): Dataset {
  if (split !== 'train' && split !== 'test') throw new DataError(`${spec.name}: unknown split ${JSON.stringify(split)}; use 'train' or 'test'`);
  const selected = resolveClasses(spec, classes);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new DataError(`${spec.name}: limit must be a whole number ≥ 1, got ${limit}`);
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesBase = `${prefix}-images-idx3-ubyte`;
  const labelsBase = `${prefix}-labels-idx1-ubyte`;
  const lookedFor = `${imagesBase}[.gz] and ${labelsBase}[.gz]`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DataError(`${spec.name} data folder ${dir} not found (looked for ${lookedFor} there). ${spec.howToGet}`);
  }
  const imagesPath = findFile(dir, imagesBase);
  const labelsPath = findFile(dir, labelsBase);
  if (!imagesPath || !labelsPath) {
    const missing = [!imagesPath && `${imagesBase}[.gz]`, !labelsPath && `${labelsBase}[.gz]`].filter(Boolean).join(' and ');
    throw new DataError(`${spec.name}: ${missing} not found in ${dir} (looked for ${lookedFor}). ${spec.howToGet}`);
  }

  const labelFile = readIdx(labelsPath, 1);
  const labelCount = labelFile.dims[0];
  const size = imageSize ?? spec.imageSize;
  // Checked on the images' header, before their data is read or decompressed.
  const checkImages = ({ dims: [count, height, width] }: IdxHeader) => {
    if (size !== 'any' && (height !== size[0] || width !== size[1])) {
      throw new DataError(`${spec.name}: ${imagesPath} holds ${height}×${width} images, but the models need ${size[0]}×${size[1]}; ` +
        `resize the images to ${size[0]}×${size[1]}`);
    }
    if (count !== labelCount) throw new DataError(`${spec.name}: ${imagesPath} holds ${count} images but ${labelsPath} holds ${labelCount} labels`);
  };
  const imageFile = readIdx(imagesPath, 3, checkImages);
  const [total, height, width] = imageFile.dims;
  const n = spec.classNames.length;
  const wanted = new Uint8Array(n);
  for (const c of selected) wanted[c] = 1;
  const keep: number[] = [];
  const max = limit ?? Infinity;
  for (let i = 0; i < total; i++) {
    const label = labelFile.data[i];
    if (label >= n) throw new DataError(`${spec.name}: ${labelsPath}: label ${label} at index ${i} is outside 0–${n - 1}`);
    if (wanted[label] && keep.length < max) keep.push(i);
  }
  if (keep.length === 0) {
    const names = selected.map((c) => spec.classNames[c]).join(', ');
    throw new DataError(`${spec.name}: no ${split} images of class ${names}; the selection is empty`);
  }

  const pixels = height * width;
  const images = new Float32Array(keep.length * pixels);
  const labels = new Uint8Array(keep.length);
  keep.forEach((src, dst) => {
    labels[dst] = labelFile.data[src];
    const from = imageFile.data.subarray(src * pixels, (src + 1) * pixels);
    const out = dst * pixels;
    for (let p = 0; p < pixels; p++) images[out + p] = from[p] / 127.5 - 1;
  });
  return { images, labels, count: keep.length, height, width, classes: selected };
}
