// A lookup table of learned vectors, one per class (PyTorch's nn.Embedding), taken as a one-hot matrix product so
// that the existing matmul kernel does the lookup and its gradient (dW = onehotᵀ·dY adds each row's gradient to
// its class's vector).
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { tensor } from '../tensor/ops/create.js';
import { matmul } from '../tensor/ops/matmul.js';
import { normal } from './init.js';

export class Embedding extends Module {
  readonly weight: Tensor;
  /** `init` gives the initial weight [numEmbeddings, embeddingDim]; default N(0, 1), PyTorch's. */
  constructor(engine: Engine, readonly numEmbeddings: number, readonly embeddingDim: number, init?: (engine: Engine, shape: number[]) => Tensor) {
    super();
    const shape = [numEmbeddings, embeddingDim];
    this.weight = this.parameter('weight', init ? init(engine, shape) : normal(engine, shape, 0, 1));
  }
  /** oneHot [B, numEmbeddings] (see oneHot) → the rows' vectors [B, embeddingDim]. */
  forward(oneHot: Tensor): Tensor {
    if (oneHot.rank !== 2 || oneHot.shape[1] !== this.numEmbeddings) {
      throw new Error(`Embedding: expects one-hot rows [B, ${this.numEmbeddings}], got [${oneHot.shape.join(', ')}]`);
    }
    return matmul(oneHot, this.weight);
  }
  override describe(): string {
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim})`;
  }
}

/** Host one-hot rows [labels.length × classes]: row i has a 1 at labels[i]. Throws for a label outside 0…classes−1. */
export function oneHotRows(labels: ArrayLike<number>, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < classes)) throw new Error(`oneHot: label ${c} at row ${i} is not a class index 0…${classes - 1}`);
    out[i * classes + c] = 1;
  }
  return out;
}

/** One-hot rows on the GPU: [labels.length, classes]. */
export const oneHot = (engine: Engine, labels: ArrayLike<number>, classes: number): Tensor => tensor(engine, oneHotRows(labels, classes), [labels.length, classes]);
