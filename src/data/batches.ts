// Mini-batches over an in-memory dataset: a fresh seeded shuffle each epoch, the last incomplete batch dropped.
// Each epoch's order is a pure function of (seed, epoch), so the state a checkpoint needs is a few integers.
import { DataError } from './idx-format.js';

/** mulberry32: a tiny 32-bit PRNG whose whole state is one u32. */
export class Prng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** Uniform integer in [0, n), n ≤ 2^32, without modulo bias. */
  below(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    let v = this.nextU32();
    while (v >= limit) v = this.nextU32();
    return v % n;
  }
}

/** Mixes seed and epoch into an unrelated-looking PRNG state (splitmix32-style finaliser). */
function epochState(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, rng: Prng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface BatchSource {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  /** Floats per image (1×28×28 → 784). */
  itemSize: number;
}

export interface Batch {
  /** batchSize×itemSize, a copy. */
  images: Float32Array;
  labels: Uint8Array;
  epoch: number;
  /** Index of this batch within its epoch. */
  index: number;
}

/** Everything needed to continue a Batcher exactly where it stopped; count and batchSize guard against other data. */
export interface BatcherState {
  seed: number;
  epoch: number;
  batch: number;
  count: number;
  batchSize: number;
  shuffle: boolean;
}

export class Batcher {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  readonly shuffle: boolean;
  private seed: number;
  private epochIndex = 0;
  private batchIndex = 0;
  private order: Uint32Array;

  constructor(
    private readonly source: BatchSource,
    batchSize: number,
    { seed = 0, shuffle = true }: { seed?: number; shuffle?: boolean } = {},
  ) {
    const { images, labels, count, itemSize } = source;
    if (!(Number.isInteger(count) && count >= 1)) throw new DataError(`Batcher: count must be a whole number ≥ 1, got ${count}`);
    if (!(Number.isInteger(itemSize) && itemSize >= 1)) throw new DataError(`Batcher: itemSize must be a whole number ≥ 1, got ${itemSize}`);
    if (images.length < count * itemSize || labels.length < count) {
      throw new DataError(`Batcher: ${count} items of ${itemSize} floats need ${count * itemSize} floats and ${count} labels, got ${images.length} and ${labels.length}`);
    }
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new DataError(`Batcher: batch size must be a whole number ≥ 1, got ${batchSize}`);
    if (batchSize > count) {
      throw new DataError(`batch size ${batchSize} is larger than the ${count} selected images; lower --batch-size or select more data`);
    }
    this.batchSize = batchSize;
    this.batchesPerEpoch = Math.floor(count / batchSize);
    this.shuffle = shuffle;
    this.seed = seed >>> 0;
    this.order = this.orderFor(0);
  }

  get epoch(): number {
    return this.epochIndex;
  }
  /** Index within the current epoch of the batch `next()` returns. */
  get batchInEpoch(): number {
    return this.batchIndex;
  }

  /** The next batch, starting a new shuffled epoch after the last full batch of the previous one. */
  next(): Batch {
    if (this.batchIndex >= this.batchesPerEpoch) {
      this.epochIndex++;
      this.batchIndex = 0;
      this.order = this.orderFor(this.epochIndex);
    }
    const { images, labels, itemSize } = this.source;
    const out = new Float32Array(this.batchSize * itemSize);
    const outLabels = new Uint8Array(this.batchSize);
    const start = this.batchIndex * this.batchSize;
    for (let b = 0; b < this.batchSize; b++) {
      const src = this.order[start + b];
      out.set(images.subarray(src * itemSize, (src + 1) * itemSize), b * itemSize);
      outLabels[b] = labels[src];
    }
    return { images: out, labels: outLabels, epoch: this.epochIndex, index: this.batchIndex++ };
  }

  /** The batches left in the current epoch (all of them when called at an epoch boundary). */
  *epochBatches(): Generator<Batch> {
    if (this.batchIndex >= this.batchesPerEpoch) {
      this.epochIndex++;
      this.batchIndex = 0;
      this.order = this.orderFor(this.epochIndex);
    }
    const epoch = this.epochIndex;
    while (this.epochIndex === epoch && this.batchIndex < this.batchesPerEpoch) yield this.next();
  }

  /** The item indices of the current epoch, in batch order (for tests and diagnostics). */
  epochOrder(): Uint32Array {
    return this.order.slice();
  }

  state(): BatcherState {
    return { seed: this.seed, epoch: this.epochIndex, batch: this.batchIndex, count: this.source.count, batchSize: this.batchSize, shuffle: this.shuffle };
  }

  restore(state: BatcherState): void {
    const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
    if (!state || !ok(state.seed) || !ok(state.epoch) || !ok(state.batch) || state.batch > this.batchesPerEpoch) {
      throw new DataError(`Batcher: invalid saved state ${JSON.stringify(state)}`);
    }
    if (state.count !== this.source.count || state.batchSize !== this.batchSize || state.shuffle !== this.shuffle) {
      throw new DataError(
        `Batcher: saved state is for ${state.count} images in batches of ${state.batchSize} (shuffle ${state.shuffle}), ` +
          `but this data has ${this.source.count} images in batches of ${this.batchSize} (shuffle ${this.shuffle})`,
      );
    }
    this.seed = state.seed >>> 0;
    this.epochIndex = state.epoch;
    this.batchIndex = state.batch;
    this.order = this.orderFor(this.epochIndex);
  }

  private orderFor(epoch: number): Uint32Array {
    if (!this.shuffle) return Uint32Array.from({ length: this.source.count }, (_, i) => i);
    return permutation(this.source.count, new Prng(epochState(this.seed, epoch)));
  }
}
