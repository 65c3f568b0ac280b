// `npm run metric-sensitivity`: how far `npm run evaluate`'s measures move when real images are
// changed slightly. Real training images, as they are and mildly blurred, sharpened or rescaled in contrast,
// are scored as if they were generated ones: FID / floor, precision, recall, against the same real sets that
// `npm run evaluate` uses at the same n and seed. It tells how close to the real images' own low-level
// statistics a generator must come to meet a target.
import type { Engine } from '../runtime/engine.js';
import { DEFAULT_DATA_DIR } from '../data/fashion-mnist.js';
import { loadFashionMnist } from '../node/mnist-files.js';
import { loadClassifier, CLASSIFIER_FEATURES } from '../gan/classifier.js';
import { classifyImages } from '../gan/features.js';
import { gaussianStats, frechetDistance, manifoldMembership, fractionSet } from '../gan/quality.js';
import { gpuNeighbourSearch } from '../gan/nearest.js';
import { imageGrid, encodePng } from '../io/png.js';
import { createNodeEngine } from '../node/gpu.js';
import { DEFAULT_CLASSIFIER, readClassifierFile } from '../node/classifier-file.js';
import { sampleImages, trainSampleSeed } from '../gan/real-samples.js';
import { parse, num, str, runCli, HelpRequest, UsageError } from '../node/args.js';
import { checkOutputs, OutputWriter } from '../node/outputs.js';

export const SENSITIVITY_USAGE = `usage: npm run metric-sensitivity -- [options]
  --n N               real images per set, at most 10,000 (default 10000)
  --seed S            seeds the choice of real images, as npm run evaluate's --seed (default 0)
  --classifier FILE   the feature classifier (default ${DEFAULT_CLASSIFIER})
  --data DIR          folder with the four Fashion-MNIST IDX files (default ${DEFAULT_DATA_DIR})
  --json FILE         also write the rows as JSON
  --figure FILE.png   also write the first 8 training images, one row per change, in the table's order`;

const toUnit = (v: number) => (v + 1) / 2;
const fromUnit = (u: number) => Math.min(1, Math.max(0, u)) * 2 - 1;

/**
 * Unsharp masking of images in [−1, 1]: u + amount·(u − mean of its 3×3 neighbourhood), in [0, 1] pixels and
 * clamped there; the neighbourhood stops at the image's edge. amount < 0 blurs (−1: the 3×3 mean), > 0 sharpens.
 */
export function unsharp(images: Float32Array, height: number, width: number, amount: number): Float32Array {
  const out = new Float32Array(images.length);
  const pixels = height * width;
  for (let base = 0; base < images.length; base += pixels) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        let count = 0;
        for (let yy = Math.max(0, y - 1); yy <= Math.min(height - 1, y + 1); yy++) {
          for (let xx = Math.max(0, x - 1); xx <= Math.min(width - 1, x + 1); xx++) {
            sum += toUnit(images[base + yy * width + xx]);
            count++;
          }
        }
        const u = toUnit(images[base + y * width + x]);
        out[base + y * width + x] = fromUnit(u + amount * (u - sum / count));
      }
    }
  }
  return out;
}

/** Every pixel in [0, 1] times `factor`, clamped to [0, 1]: < 1 dims, > 1 brightens (saturating). */
export function scaleContrast(images: Float32Array, factor: number): Float32Array {
  return images.map((v) => fromUnit(toUnit(v) * factor));
}

/** Root-mean-square pixel change in [0, 1] units. */
export function rmsChange(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] - b[i]) / 2) ** 2;
  return Math.sqrt(sum / a.length);
}

export interface SensitivityRow {
  change: string;
  rms_change: number;
  fid: number;
  fid_ratio: number;
  precision: number;
  recall: number;
}

/** The changes, the unchanged images first: their FID is the floor of the others. */
export const DEGRADATIONS: { change: string; apply: (images: Float32Array, h: number, w: number) => Float32Array }[] = [
  { change: 'none', apply: (x) => x },
  { change: 'blurred, unsharp −0.25', apply: (x, h, w) => unsharp(x, h, w, -0.25) },
  { change: 'blurred, unsharp −0.5', apply: (x, h, w) => unsharp(x, h, w, -0.5) },
  { change: 'sharpened, unsharp +0.25', apply: (x, h, w) => unsharp(x, h, w, 0.25) },
  { change: 'sharpened, unsharp +0.5', apply: (x, h, w) => unsharp(x, h, w, 0.5) },
  { change: 'contrast ×0.9', apply: (x) => scaleContrast(x, 0.9) },
  { change: 'contrast ×1.1', apply: (x) => scaleContrast(x, 1.1) },
];

export async function metricSensitivity(argv: string[], engine?: Engine, log: (line: string) => void = () => undefined): Promise<{ rows: SensitivityRow[]; table: string }> {
  const v = parse(argv, {
    n: { type: 'string' }, seed: { type: 'string' }, classifier: { type: 'string' }, data: { type: 'string' }, json: { type: 'string' }, figure: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, SENSITIVITY_USAGE);
  if (v.help) throw new HelpRequest(SENSITIVITY_USAGE);
  const n = num(v, 'n', 10000, { int: true, min: 10 });
  const seed = num(v, 'seed', 0, { int: true, min: 0, max: 2 ** 32 - 1 });
  const classifierPath = str(v, 'classifier') ?? DEFAULT_CLASSIFIER;
  const json = str(v, 'json');
  const figure = str(v, 'figure');
  const classifierFile = readClassifierFile(classifierPath);
  const dir = str(v, 'data') ?? DEFAULT_DATA_DIR;
  const test = loadFashionMnist({ dir, split: 'test' });
  const train = loadFashionMnist({ dir, split: 'train' });
  if (n > test.count) throw new UsageError(`--n ${n}: more than the ${test.count} test images`);
  if (n > train.count) throw new UsageError(`--n ${n}: more than the ${train.count} training images`);
  checkOutputs({
    files: [...(json ? [{ flag: '--json', path: json }] : []), ...(figure ? [{ flag: '--figure', path: figure }] : [])],
    inputs: [{ flag: '--classifier', path: classifierPath }],
  });
  const gpu = engine ?? (await createNodeEngine());
  const classifier = loadClassifier(gpu, classifierFile.tensors, classifierPath);
  try {
    const { height, width } = test;
    const features = async (images: Float32Array, count: number) => (await classifyImages(gpu, classifier, images, count, { height, width })).features;
    const dim = CLASSIFIER_FEATURES;
    const testStats = gaussianStats(await features(test.images, test.count), test.count, dim);
    const testSample = await features(sampleImages(test, n, seed).images, n);
    const trainSample = sampleImages(train, n, trainSampleSeed(seed)).images;
    const search = gpuNeighbourSearch(gpu);
    const rows: SensitivityRow[] = [];
    const shown = Math.min(8, n);
    const figureImages = new Float32Array(DEGRADATIONS.length * shown * height * width);
    for (const { change, apply } of DEGRADATIONS) {
      log(change);
      const changed = apply(trainSample, height, width);
      figureImages.set(changed.subarray(0, shown * height * width), rows.length * shown * height * width);
      const f = await features(changed, n);
      const fid = frechetDistance(gaussianStats(f, n, dim), testStats);
      const floor = rows.length ? rows[0].fid : fid; // the first row is the unchanged images
      const pr = await manifoldMembership(testSample, f, dim, { k: 3, search });
      rows.push({ change, rms_change: rmsChange(changed, trainSample), fid, fid_ratio: fid / floor, precision: fractionSet(pr.generatedInReal), recall: fractionSet(pr.realInGenerated) });
    }
    const writer = new OutputWriter();
    if (figure) {
      const grid = imageGrid(figureImages, DEGRADATIONS.length * shown, height, width, { cols: shown });
      writer.write('--figure', figure, encodePng(grid.width, grid.height, grid.pixels));
    }
    if (json) writer.write('--json', json, JSON.stringify({ n, seed, classifier: classifierPath, adapter: gpu.adapterName, rows }, null, 2) + '\n');
    const line = (cells: string[]) => `${cells[0].padEnd(28)}${cells.slice(1).map((c) => c.padStart(12)).join('')}`;
    const table = [
      `${n.toLocaleString('en-US')} real training images scored as if generated, against ${n.toLocaleString('en-US')} test images (precision/recall, k = 3) and all ${test.count.toLocaleString('en-US')} (FID)`,
      line(['change', 'RMS change', 'FID', 'FID / floor', 'precision', 'recall']),
      ...rows.map((r) => line([r.change, r.rms_change.toFixed(4), r.fid.toFixed(2), `${r.fid_ratio.toFixed(1)}×`, r.precision.toFixed(3), r.recall.toFixed(3)])),
    ].join('\n');
    return { rows, table };
  } finally {
    classifier.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { table } = await metricSensitivity(process.argv.slice(2), undefined, (line) => console.error(`… ${line}`));
    console.log(table);
    return 0;
  });
}
