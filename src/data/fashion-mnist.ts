// Fashion-MNIST (and any dataset laid out like MNIST) from its IDX files' contents: the classes, and the choice of
// examples as N×1×H×W float images scaled to [-1, 1], optionally only some classes and the first `limit` matches.
// Browser-safe: reading the files is src/node/mnist-files.ts's job.
import { DataError, type IdxFile, type IdxHeader } from './idx-format.js';

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

/** Checks that a limit is a whole number ≥ 1 (or absent). Throws DataError. */
export function checkLimit(spec: MnistLikeSpec, limit: number | undefined): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new DataError(`${spec.name}: limit must be a whole number ≥ 1, got ${limit}`);
  }
}

/**
 * The check of an images file's header against its labels, run before the images are read or decompressed:
 * images of another size than `size` ([height, width], or 'any') and a count other than `labelCount` are refused
 * with a DataError naming both files.
 */
export function imagesHeaderCheck(spec: MnistLikeSpec, size: LoadOptions['imageSize'], labelCount: number, imagesName: string, labelsName: string): (header: IdxHeader) => void {
  const want = size ?? spec.imageSize;
  return ({ dims: [count, height, width] }: IdxHeader) => {
    if (want !== 'any' && (height !== want[0] || width !== want[1])) {
      throw new DataError(`${spec.name}: ${imagesName} holds ${height}×${width} images, but the models need ${want[0]}×${want[1]}; ` +
        `resize the images to ${want[0]}×${want[1]}`);
    }
    if (count !== labelCount) throw new DataError(`${spec.name}: ${imagesName} holds ${count} images but ${labelsName} holds ${labelCount} labels`);
  };
}

/**
 * The examples of the `selected` classes (at most `limit`, in file order) from decoded images [N, H, W] and
 * labels [N], pixels scaled to [-1, 1]. Throws DataError for a label outside the classes (anywhere in the file)
 * and for an empty selection.
 */
export function selectExamples(spec: MnistLikeSpec, imageFile: IdxFile, labelFile: IdxFile, selected: number[], limit: number | undefined, split: Split, labelsName: string): Dataset {
  const [total, height, width] = imageFile.dims;
  const n = spec.classNames.length;
  const wanted = new Uint8Array(n);
  for (const c of selected) wanted[c] = 1;
  const keep: number[] = [];
  const max = limit ?? Infinity;
  for (let i = 0; i < total; i++) {
    const label = labelFile.data[i];
    if (label >= n) throw new DataError(`${spec.name}: ${labelsName}: label ${label} at index ${i} is outside 0–${n - 1}`);
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
