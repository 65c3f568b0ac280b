// Discriminator rejection sampling's candidate pool: generated images on `npm run evaluate`'s z stream, drawn in
// batches as the rejection rows ask for more, keeping each one's critic logit, classifier features and class
// logits (not its pixels). Browser-safe.
import type { Engine } from '../runtime/engine.js';
import type { Sequential } from '../nn/layers.js';
import type { Prng } from '../data/batches.js';
import { CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, type FeatureClassifier } from './classifier.js';
import { classifyBatch } from './features.js';
import { CRITIC_Z_BATCH, generatedCriticLogits, type LatentStream } from './critic.js';
import { acceptCandidates } from './rejection.js';

export interface Picked {
  /** The chosen candidates' indices, in order. */
  indices: number[];
  /** Candidates looked at to choose them. */
  candidates: number;
}

export class CandidatePool {
  count = 0;
  criticLogits: Float32Array = new Float32Array(0);
  /** count × 128 classifier features. */
  features: Float32Array = new Float32Array(0);
  /** count × 10 classifier logits. */
  classLogits: Float32Array = new Float32Array(0);

  /**
   * Candidates are G's images for z from the key (stream.seed, b) per batch b of CRITIC_Z_BATCH (250) images, at
   * stream.temperature — the z of `npm run evaluate` at that seed and temperature — scored by `critic` and `classifier`; at most `max` of them are drawn.
   */
  constructor(
    private readonly engine: Engine, private readonly critic: Sequential, private readonly G: Sequential,
    private readonly classifier: FeatureClassifier, private readonly latentDim: number,
    private readonly stream: LatentStream, readonly max: number,
  ) {}

  /** Draws batches until at least `count` candidates exist (or `max`); false when `max` is reached first. */
  private async ensure(count: number): Promise<boolean> {
    while (this.count < count && this.count < this.max) {
      const m = Math.min(CRITIC_Z_BATCH, this.max - this.count);
      const features = new Float32Array(m * CLASSIFIER_FEATURES);
      const classLogits = new Float32Array(m * CLASSIFIER_CLASSES);
      const critic = await generatedCriticLogits(this.engine, this.critic, this.G, this.latentDim, this.count, m, this.stream, async (images, start) => {
        const classified = await classifyBatch(this.engine, this.classifier, images);
        features.set(classified.features, start * CLASSIFIER_FEATURES);
        classLogits.set(classified.logits, start * CLASSIFIER_CLASSES);
      });
      this.criticLogits = grow(this.criticLogits, critic, this.count);
      this.features = grow(this.features, features, this.count * CLASSIFIER_FEATURES);
      this.classLogits = grow(this.classLogits, classLogits, this.count * CLASSIFIER_CLASSES);
      this.count += m;
    }
    return this.count >= count;
  }

  /** The first n candidates (no rejection); null when max < n. */
  async first(n: number): Promise<Picked | null> {
    if (!(await this.ensure(n))) return null;
    return { indices: Array.from({ length: n }, (_, i) => i), candidates: n };
  }

  /**
   * The first n candidates accepted with probability min(1, exp(logit − ceiling)), in order, deciding batch by
   * batch with `rng`; null when max candidates give fewer than n.
   */
  async accept(n: number, ceiling: number, rng: Prng): Promise<Picked | null> {
    const indices: number[] = [];
    for (let seen = 0; indices.length < n; seen += CRITIC_Z_BATCH) {
      if (!(await this.ensure(seen + 1))) return null;
      const end = Math.min(seen + CRITIC_Z_BATCH, this.count);
      for (const i of acceptCandidates(this.criticLogits.subarray(seen, end), ceiling, rng)) {
        if (indices.length < n) indices.push(seen + i);
      }
    }
    return { indices, candidates: indices[n - 1] + 1 };
  }

  /** The picked candidates' classifier features (n × 128) and class logits (n × 10). */
  gather(picked: Picked): { features: Float32Array; classLogits: Float32Array } {
    const n = picked.indices.length;
    const features = new Float32Array(n * CLASSIFIER_FEATURES);
    const classLogits = new Float32Array(n * CLASSIFIER_CLASSES);
    picked.indices.forEach((c, j) => {
      features.set(this.features.subarray(c * CLASSIFIER_FEATURES, (c + 1) * CLASSIFIER_FEATURES), j * CLASSIFIER_FEATURES);
      classLogits.set(this.classLogits.subarray(c * CLASSIFIER_CLASSES, (c + 1) * CLASSIFIER_CLASSES), j * CLASSIFIER_CLASSES);
    });
    return { features, classLogits };
  }
}

/** `into` with `values` written at `offset`, reallocated (doubling) when too small. */
function grow(into: Float32Array, values: Float32Array, offset: number): Float32Array {
  let out = into;
  if (offset + values.length > into.length) {
    out = new Float32Array(Math.max(offset + values.length, 2 * into.length));
    out.set(into.subarray(0, offset));
  }
  out.set(values, offset);
  return out;
}
