import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { resolveClasses, FASHION_MNIST, FASHION_MNIST_CLASSES, MNIST, DEFAULT_DATA_DIR } from '../src/data/fashion-mnist.js';
import { loadFashionMnist, loadMnistLike } from '../src/node/mnist-files.js';
import { Batcher, Prng, permutation } from '../src/data/batches.js';
import { DataError } from '../src/node/idx-file.js';

function idxBytes(dims: number[], data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

// A fake dataset: 5×4 images (height ≠ width), labels with class 9 absent from the test split.
const H = 5;
const W = 4;
const trainLabels = Uint8Array.from({ length: 23 }, (_, i) => (i * 7 + 3) % 10);
const testLabels = Uint8Array.from({ length: 9 }, (_, i) => i % 9);
const pixelsFor = (n: number, seed: number) => Uint8Array.from({ length: n * H * W }, (_, i) => (i * 31 + seed + (i >> 4)) & 255);
const trainPixels = pixelsFor(23, 1);
const testPixels = pixelsFor(9, 2);
trainPixels[0] = 0;
trainPixels[1] = 255;

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'atelier-fm-'));
  dir = join(root, 'fm');
  mkdirSync(dir);
  // train gzipped, test raw: both layouts must be found
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([23, H, W], trainPixels)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([23], trainLabels)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes([9, H, W], testPixels));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([9], testLabels));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** float64 reference: keep images whose label is selected, first `limit`, scale p/127.5 − 1. */
function reference(pixels: Uint8Array, labels: Uint8Array, classes: number[], limit = Infinity) {
  const images: number[] = [];
  const kept: number[] = [];
  for (let i = 0; i < labels.length && kept.length < limit; i++) {
    if (!classes.includes(labels[i])) continue;
    kept.push(labels[i]);
    for (let p = 0; p < H * W; p++) images.push(pixels[i * H * W + p] / 127.5 - 1);
  }
  return { images, labels: kept };
}

function expectImages(actual: Float32Array, expected: number[]) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > 1e-6) throw new Error(`pixel ${i}: got ${actual[i]}, want ${expected[i]}`);
  }
}

describe('loadFashionMnist on a small fake dataset', () => {
  it('loads every image of the train (gzipped) and test (raw) splits scaled to [-1, 1]', () => {
    const all = [...Array(10).keys()];
    for (const [split, pixels, labels] of [['train', trainPixels, trainLabels], ['test', testPixels, testLabels]] as const) {
      const d = loadFashionMnist({ imageSize: [H, W], dir, split });
      const ref = reference(pixels, labels, all);
      expect(d).toMatchObject({ count: labels.length, height: H, width: W, classes: all });
      expect(Array.from(d.labels)).toEqual(ref.labels);
      expectImages(d.images, ref.images);
    }
    const d = loadFashionMnist({ imageSize: [H, W], dir, split: 'train' });
    expect(d.images[0]).toBe(-1);
    expect(d.images[1]).toBe(1);
  });

  it('filters classes by name in any spelling, by index, and mixed', () => {
    const byName = loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: ['Ankle boot', 'T-shirt/top'] });
    expect(byName.classes).toEqual([0, 9]);
    const ref = reference(trainPixels, trainLabels, [0, 9]);
    expect(Array.from(byName.labels)).toEqual(ref.labels);
    expectImages(byName.images, ref.images);
    for (const spelling of ['ankle-boot', 'ankle_boot', 'ANKLE BOOT', 'Ankle boot', 9, '9']) {
      expect(resolveClasses(FASHION_MNIST, [spelling])).toEqual([9]);
    }
    for (const spelling of ['t-shirt', 'T-shirt/top', 'tshirt', 0]) expect(resolveClasses(FASHION_MNIST, [spelling])).toEqual([0]);
    const mixed = loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: ['sneaker', 3, 'coat', 3] });
    expect(mixed.classes).toEqual([3, 4, 7]);
    expect(Array.from(mixed.labels)).toEqual(reference(trainPixels, trainLabels, [3, 4, 7]).labels);
  });

  it('keeps the first `limit` images after filtering', () => {
    const d = loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: ['trouser', 'dress', 'sandal', 'shirt', 'bag'], limit: 4 });
    const ref = reference(trainPixels, trainLabels, [1, 3, 5, 6, 8], 4);
    expect(d.count).toBe(4);
    expect(Array.from(d.labels)).toEqual(ref.labels);
    expectImages(d.images, ref.images);
    expect(loadFashionMnist({ imageSize: [H, W], dir, split: 'test', limit: 100 }).count).toBe(9);
  });

  it('refuses unknown classes, listing the valid names', () => {
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: ['boots'] })).toThrow(DataError);
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: ['boots'] })).toThrow(/unknown class "boots"; valid classes are 0 t-shirt, 1 trouser, .*9 ankle-boot/);
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: [10] })).toThrow(/unknown class 10/);
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: [1.5] })).toThrow(/unknown class 1\.5/);
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'train', classes: [] })).toThrow(/class selection is empty/);
  });

  it('refuses a limit below 1 and an empty selection', () => {
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'train', limit: 0 })).toThrow(/limit must be a whole number ≥ 1, got 0/);
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'train', limit: 2.5 })).toThrow(/limit must be a whole number/);
    expect(() => loadFashionMnist({ imageSize: [H, W], dir, split: 'test', classes: ['ankle-boot'] })).toThrow(/no test images of class ankle-boot; the selection is empty/);
  });

  it('explains how to get the data when the folder or a file is missing', () => {
    const missing = join(root, 'does-not-exist');
    const attempt = () => loadFashionMnist({ imageSize: [H, W], dir: missing, split: 'train' });
    expect(attempt).toThrow(/Fashion-MNIST data folder .*does-not-exist not found/);
    expect(attempt).toThrow(/train-images-idx3-ubyte\[\.gz\] and train-labels-idx1-ubyte\[\.gz\]/);
    expect(attempt).toThrow(/apt-get install dataset-fashion-mnist/);
    expect(attempt).toThrow(/--data DIR/);
    const partial = join(root, 'partial');
    mkdirSync(partial);
    writeFileSync(join(partial, 't10k-images-idx3-ubyte'), idxBytes([9, H, W], testPixels));
    expect(() => loadFashionMnist({ imageSize: [H, W], dir: partial, split: 'test' })).toThrow(/t10k-labels-idx1-ubyte\[\.gz\] not found in .*partial.*--data DIR/);
  });

  it('refuses image and label counts that disagree, and labels outside the classes', () => {
    const bad = join(root, 'bad-counts');
    mkdirSync(bad);
    writeFileSync(join(bad, 't10k-images-idx3-ubyte'), idxBytes([9, H, W], testPixels));
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), idxBytes([8], testLabels.subarray(0, 8)));
    expect(() => loadFashionMnist({ imageSize: [H, W], dir: bad, split: 'test' })).toThrow(/holds 9 images but .*t10k-labels-idx1-ubyte holds 8 labels/);
    const badLabel = join(root, 'bad-label');
    mkdirSync(badLabel);
    writeFileSync(join(badLabel, 't10k-images-idx3-ubyte'), idxBytes([2, H, W], testPixels.subarray(0, 2 * H * W)));
    writeFileSync(join(badLabel, 't10k-labels-idx1-ubyte'), idxBytes([2], [3, 12]));
    expect(() => loadFashionMnist({ imageSize: [H, W], dir: badLabel, split: 'test' })).toThrow(/label 12 at index 1 is outside 0–9/);
    // labels and images swapped: the magic number says so
    const swapped = join(root, 'swapped');
    mkdirSync(swapped);
    writeFileSync(join(swapped, 't10k-images-idx3-ubyte'), idxBytes([9], testLabels));
    writeFileSync(join(swapped, 't10k-labels-idx1-ubyte'), idxBytes([9, H, W], testPixels));
    expect(() => loadFashionMnist({ imageSize: [H, W], dir: swapped, split: 'test' })).toThrow(/wrong magic number 0x00000803, expected 0x00000801/);
  });

  it('loadMnistLike reads MNIST-style data with digit class names', () => {
    const d = loadMnistLike(MNIST, { imageSize: [H, W], dir, split: 'test', classes: ['3', 4] });
    expect(d.classes).toEqual([3, 4]);
    expect(Array.from(d.labels)).toEqual([3, 4]);
    expect(() => loadMnistLike(MNIST, { imageSize: [H, W], dir: join(root, 'none'), split: 'test' })).toThrow(/MNIST data folder/);
  });

  it.skipIf(!existsSync(DEFAULT_DATA_DIR))('loads the real Fashion-MNIST: 60,000 train and 10,000 test 28×28 images, balanced classes', () => {
    for (const [split, count] of [['train', 60000], ['test', 10000]] as const) {
      const d = loadFashionMnist({ split });
      expect(d).toMatchObject({ count, height: 28, width: 28 });
      expect(d.images.length).toBe(count * 28 * 28);
      const perClass = new Array(10).fill(0);
      for (const l of d.labels) perClass[l]++;
      expect(perClass).toEqual(new Array(10).fill(count / 10));
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of d.images) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      expect([lo, hi]).toEqual([-1, 1]);
    }
    const sneakers = loadFashionMnist({ split: 'test', classes: ['Sneaker'], limit: 50 });
    expect(sneakers.count).toBe(50);
    expect(sneakers.labels.every((l) => l === FASHION_MNIST_CLASSES.indexOf('sneaker'))).toBe(true);
  });
});

/** Items whose every float is their index, so a batch reveals which items it holds. */
function indexedSource(count: number, itemSize: number) {
  const images = new Float32Array(count * itemSize);
  for (let i = 0; i < count; i++) images.fill(i, i * itemSize, (i + 1) * itemSize);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, itemSize };
}

const itemsOf = (images: Float32Array, itemSize: number) => Array.from({ length: images.length / itemSize }, (_, b) => images[b * itemSize]);

describe('Batcher', () => {
  it('drops the last incomplete batch and yields every kept index once per epoch with matching labels', () => {
    const src = indexedSource(23, 7);
    const batcher = new Batcher(src, 5, { seed: 3 });
    expect(batcher.batchesPerEpoch).toBe(4);
    const seen: number[] = [];
    for (const b of batcher.epochBatches()) {
      expect(b.images.length).toBe(5 * 7);
      const items = itemsOf(b.images, 7);
      for (let k = 0; k < 5; k++) {
        expect(Array.from(b.images.subarray(k * 7, (k + 1) * 7))).toEqual(new Array(7).fill(items[k]));
        expect(b.labels[k]).toBe(items[k] % 10);
      }
      seen.push(...items);
    }
    expect(seen.length).toBe(20);
    expect(new Set(seen).size).toBe(20);
    expect(seen).toEqual(Array.from(batcher.epochOrder().subarray(0, 20)));
    expect(batcher.epoch).toBe(0);
    expect(batcher.next().epoch).toBe(1);
  });

  it('is deterministic per seed and reshuffles each epoch', () => {
    const run = (seed: number, n: number) => {
      const b = new Batcher(indexedSource(40, 3), 8, { seed });
      return Array.from({ length: n }, () => itemsOf(b.next().images, 3));
    };
    const a = run(7, 15);
    expect(run(7, 15)).toEqual(a);
    expect(run(8, 5)).not.toEqual(a.slice(0, 5));
    const epochs = [a.slice(0, 5).flat(), a.slice(5, 10).flat(), a.slice(10, 15).flat()];
    for (const e of epochs) expect([...e].sort((x, y) => x - y)).toEqual([...Array(40).keys()]);
    expect(epochs[1]).not.toEqual(epochs[0]);
    expect(epochs[2]).not.toEqual(epochs[1]);
    const identity = new Batcher(indexedSource(10, 2), 4, { shuffle: false });
    expect(itemsOf(identity.next().images, 2)).toEqual([0, 1, 2, 3]);
  });

  it('continues identically after its state is saved (through JSON) and restored', () => {
    const a = new Batcher(indexedSource(30, 4), 7, { seed: 11 });
    for (let i = 0; i < 9; i++) a.next(); // into the third epoch, mid-way
    const saved = JSON.parse(JSON.stringify(a.state()));
    expect(saved).toEqual({ seed: 11, epoch: 2, batch: 1, count: 30, batchSize: 7, shuffle: true });
    const after = Array.from({ length: 10 }, () => a.next());
    const b = new Batcher(indexedSource(30, 4), 7, { seed: 999 });
    b.restore(saved);
    const resumed = Array.from({ length: 10 }, () => b.next());
    expect(resumed.map((x) => [x.epoch, x.index, ...itemsOf(x.images, 4)])).toEqual(after.map((x) => [x.epoch, x.index, ...itemsOf(x.images, 4)]));

    // restoring at an epoch boundary continues with the next epoch
    const c = new Batcher(indexedSource(30, 4), 7, { seed: 11 });
    for (let i = 0; i < 4; i++) c.next();
    const d = new Batcher(indexedSource(30, 4), 7);
    d.restore(c.state());
    expect([...d.epochBatches()].map((x) => itemsOf(x.images, 4))).toEqual([...c.epochBatches()].map((x) => itemsOf(x.images, 4)));
  });

  it('refuses states saved for other data and malformed states', () => {
    const a = new Batcher(indexedSource(30, 4), 7, { seed: 1 });
    const other = new Batcher(indexedSource(31, 4), 7);
    expect(() => other.restore(a.state())).toThrow(/saved state is for 30 images in batches of 7 .* this data has 31 images in batches of 7/);
    expect(() => a.restore({ ...a.state(), batch: 9 })).toThrow(/invalid saved state/);
    expect(() => a.restore({ ...a.state(), epoch: -1 })).toThrow(/invalid saved state/);
  });

  it('refuses a batch larger than the selection, and bad sizes', () => {
    expect(() => new Batcher(indexedSource(23, 2), 64)).toThrow(/batch size 64 is larger than the 23 selected images; lower --batch-size or select more data/);
    expect(() => new Batcher(indexedSource(23, 2), 0)).toThrow(/batch size must be a whole number ≥ 1/);
    expect(() => new Batcher({ ...indexedSource(23, 2), itemSize: 3 }, 4)).toThrow(/need 69 floats and 23 labels, got 46 and 23/);
    // batch == count: one batch per epoch
    expect(new Batcher(indexedSource(23, 2), 23).batchesPerEpoch).toBe(1);
  });

  it('Prng.below and permutation are uniform enough and cover every index', () => {
    const rng = new Prng(123);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.below(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    const p = permutation(1000, new Prng(5));
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(1000).keys()]);
    const restored = new Prng(rng.state);
    expect(restored.nextU32()).toBe(rng.nextU32());
  });
});

describe('loadFashionMnist refuses data the models cannot use', () => {
  const write = (name: string, n: number, h: number, w: number, labels: ArrayLike<number> = Uint8Array.from({ length: n }, (_, i) => i % 10), gz = false) => {
    const d = join(root, name);
    mkdirSync(d, { recursive: true });
    const images = idxBytes([n, h, w], new Uint8Array(n * h * w).fill(128));
    writeFileSync(join(d, `t10k-images-idx3-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(images) : images);
    writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idxBytes([labels.length], labels));
    return d;
  };

  it('loads 28×28 images by default', () => {
    const d = loadFashionMnist({ dir: write('ok28', 3, 28, 28), split: 'test' });
    expect([d.count, d.height, d.width]).toEqual([3, 28, 28]);
  });

  it('refuses any other image size, naming the file, what it has and what is needed', () => {
    for (const [h, w] of [[32, 32], [56, 56], [14, 14], [28, 27], [27, 28], [1, 784]]) {
      for (const gz of [false, true]) {
        const d = write(`size-${h}x${w}-${gz}`, 2, h, w, [1, 2], gz);
        expect(() => loadFashionMnist({ dir: d, split: 'test' })).toThrow(DataError);
        expect(() => loadFashionMnist({ dir: d, split: 'test' })).toThrow(
          new RegExp(`Fashion-MNIST: .*size-${h}x${w}-${gz}/t10k-images-idx3-ubyte${gz ? '\\.gz' : ''} holds ${h}×${w} images, but the models need 28×28; resize the images to 28×28`));
      }
    }
    // other sizes only when asked for
    expect(loadFashionMnist({ dir: join(root, 'size-32x32-false'), split: 'test', imageSize: 'any' }).height).toBe(32);
  });

  it('refuses label and image counts that differ, in both directions, before reading the images', () => {
    expect(() => loadFashionMnist({ dir: write('more-labels', 3, 28, 28, [1, 2, 3, 4]), split: 'test' })).toThrow(/holds 3 images but .*holds 4 labels/);
    expect(() => loadFashionMnist({ dir: write('fewer-labels', 3, 28, 28, [1]), split: 'test' })).toThrow(/holds 3 images but .*holds 1 labels/);
    expect(() => loadFashionMnist({ dir: write('no-labels', 3, 28, 28, []), split: 'test' })).toThrow(/holds 3 images but .*holds 0 labels/);
  });

  it('refuses a label outside the classes anywhere in the file, even past --limit', () => {
    for (const [labels, bad, at] of [[[1, 2, 10], 10, 2], [[255, 0, 0], 255, 0], [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11], 11, 10]] as const) {
      const d = write(`label-${bad}-${at}`, labels.length, 28, 28, labels);
      expect(() => loadFashionMnist({ dir: d, split: 'test', limit: 1 })).toThrow(new RegExp(`label ${bad} at index ${at} is outside 0–9`));
    }
  });

  it('refuses a FIFO or a folder in place of an IDX file instead of hanging', () => {
    const d = write('fifo', 2, 28, 28, [1, 2]);
    rmSync(join(d, 't10k-images-idx3-ubyte'));
    execFileSync('mkfifo', [join(d, 't10k-images-idx3-ubyte')]);
    expect(() => loadFashionMnist({ dir: d, split: 'test' })).toThrow(/fifo\/t10k-images-idx3-ubyte: cannot read: is a FIFO \(named pipe\), not a regular file/);
    const e = write('folder', 2, 28, 28, [1, 2]);
    rmSync(join(e, 't10k-labels-idx1-ubyte'));
    mkdirSync(join(e, 't10k-labels-idx1-ubyte'));
    expect(() => loadFashionMnist({ dir: e, split: 'test' })).toThrow(/folder\/t10k-labels-idx1-ubyte: cannot read: is a directory/);
  });
});
