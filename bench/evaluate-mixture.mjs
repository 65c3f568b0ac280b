// A one-off measurement for issue 16's recipe search: `npm run evaluate`'s report (n 10,000, seed 0, the committed
// classifier, the default data folder) of a uniform mixture of K generator files, each batch of 250 images split
// into K consecutive parts, part i from generator i (each part keeps the classes in turn). Run after `npm run build`:
//   node bench/evaluate-mixture.mjs OUT.json G1.safetensors G2.safetensors [...]
import { DEFAULT_DATA_DIR } from '../dist/src/data/fashion-mnist.js';
import { loadFashionMnist } from '../dist/src/node/mnist-files.js';
import { loadClassifier } from '../dist/src/gan/classifier.js';
import { evaluateGenerator } from '../dist/src/gan/evaluate.js';
import { sampleImages, trainSampleSeed } from '../dist/src/gan/real-samples.js';
import { gpuNeighbourSearch } from '../dist/src/gan/nearest.js';
import { readSafetensors } from '../dist/src/io/safetensors.js';
import { createNodeEngine } from '../dist/src/node/gpu.js';
import { loadGenerator } from '../dist/src/node/load-generator.js';
import { DEFAULT_CLASSIFIER, readClassifierFile } from '../dist/src/node/classifier-file.js';
import { concat, narrow } from '../dist/src/tensor/ops/misc.js';
import { checkOutputs } from '../dist/src/node/outputs.js';
import { writeFileSync } from 'node:fs';
const [out, ...files] = process.argv.slice(2);
if (!out || files.length < 2) {
  console.error('error: usage: node bench/evaluate-mixture.mjs OUT.json G1.safetensors G2.safetensors [...] (two generator files at least)');
  process.exit(1);
}
const n = 10000, seed = 0;
let gpu, Gs;
try {
  // The output is checked before a measurement of minutes, not after it (as `npm run evaluate` does).
  checkOutputs({ files: [{ flag: 'OUT', path: out }], inputs: files.map((path) => ({ flag: 'generator', path })) });
  const checkpoints = files.map((f) => readSafetensors(f));
  gpu = await createNodeEngine();
  Gs = files.map((f, i) => loadGenerator(gpu, f, checkpoints[i], {}));
} catch (e) {
  console.error(`error: ${e.message}`);
  process.exit(1);
}
const G0 = Gs[0].G;
for (const { G } of Gs) G.eval();
const mix = Object.create(G0);
mix.training = false;
mix.eval = () => mix; mix.train = () => mix;
mix.forward = (x) => {
  const b = x.shape[0], k = Gs.length;
  if (b < k) return G0.forward(x);
  const parts = [];
  let s = 0;
  for (let i = 0; i < k; i++) { const len = Math.floor((b * (i + 1)) / k) - s; parts.push(Gs[i].G.forward(narrow(x, 0, s, len))); s += len; }
  return concat(parts, 0);
};
const cf = readClassifierFile(DEFAULT_CLASSIFIER);
const classifier = loadClassifier(gpu, cf.tensors, DEFAULT_CLASSIFIER);
const test = loadFashionMnist({ dir: DEFAULT_DATA_DIR, split: 'test' });
const train = loadFashionMnist({ dir: DEFAULT_DATA_DIR, split: 'train' });
const { report } = await evaluateGenerator(gpu, mix, Gs[0].latentDim, classifier, {
  test: { images: test.images, count: test.count }, testSample: sampleImages(test, n, seed), trainSample: sampleImages(train, n, trainSampleSeed(seed)),
  train: { images: train.images, count: train.count }, height: train.height, width: train.width, testLabels: test.labels,
}, { n, seed, temperature: 1, search: gpuNeighbourSearch(gpu), log: () => {} });
writeFileSync(out, JSON.stringify({ ...report, checkpoint: files.join('+') }, null, 2));
console.log('done', out);
process.exit(0);
