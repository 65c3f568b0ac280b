// (Fashion-)MNIST from a folder of its four IDX files (raw or gzipped): finding and reading the files; the
// choice of examples is src/data/fashion-mnist.ts's.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../data/idx-format.js';
import { FASHION_MNIST, resolveClasses, checkLimit, imagesHeaderCheck, selectExamples, type Dataset, type LoadOptions, type MnistLikeSpec } from '../data/fashion-mnist.js';
import { readIdx } from './idx-file.js';

export function loadFashionMnist(options: LoadOptions): Dataset {
  return loadMnistLike(FASHION_MNIST, options);
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
 * Loads any dataset stored as MNIST's four IDX files (u8 images N×H×W, u8 labels N) from `dir`. Throws DataError
 * naming the file: missing files, a file that is not a regular file, images of another size than `imageSize`,
 * counts that differ, a label outside the classes, and everything readIdx refuses.
 */
export function loadMnistLike(spec: MnistLikeSpec, { dir = spec.defaultDir, split, classes, limit, imageSize }: LoadOptions): Dataset {
  if (split !== 'train' && split !== 'test') throw new DataError(`${spec.name}: unknown split ${JSON.stringify(split)}; use 'train' or 'test'`);
  const selected = resolveClasses(spec, classes);
  checkLimit(spec, limit);
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
  const imageFile = readIdx(imagesPath, 3, imagesHeaderCheck(spec, imageSize, labelFile.dims[0], imagesPath, labelsPath));
  return selectExamples(spec, imageFile, labelFile, selected, limit, split, labelsPath);
}
