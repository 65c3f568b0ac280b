// The networks a spec builds: a Sequential that knows its largest per-image buffer, and the two class-conditional
// forms (spec.ts `conditional`). Browser-safe.
//
// A conditional G takes its class with its input: x = [z ; onehot(y)] along channels, [B, latentDim + classes, 1, 1].
// Everything that runs G on a batch of inputs (chunked inference, the sample grids, the weight average) then works
// unchanged, and each chunk carries its own labels. Inside, the one-hot rows pick each conditional batchnorm's γ
// and β rows (nn/conditional-batchnorm.ts), and, where the spec has one, G's class embedding (PyTorch's
// nn.Embedding), which is concatenated to z along the channel axis: G's first layer then sees latentDim + embedding.
//
// A conditional D is a projection discriminator (Miyato & Koyama 2018, "cGANs with projection discriminator"):
// φ(x) is D's layers before its last weighted one, flattened to F features; logit = last(φ(x)) + ⟨E_D[y], φ(x)⟩,
// with E_D [classes, F] ("projection.weight").
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers.js';
import { Embedding, oneHot } from '../nn/embedding.js';
import { ConditionalBatchNorm2d } from '../nn/conditional-batchnorm.js';
import { concat, narrow } from '../tensor/ops/misc.js';
import { reshape, flatten } from '../tensor/ops/shape.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduce.js';
import { matmul } from '../tensor/ops/matmul.js';

/** A network built from a spec: a Sequential that knows its largest per-image buffer (for inference chunks). */
export class Network extends Sequential {
  constructor(readonly bytesPerImage: number, layers: Module[]) {
    super(...layers);
  }
  /** D's logits [B, 1] for images x; `oneHotLabels` [B, classes] is read by a projection discriminator alone. */
  discriminate(x: Tensor, _oneHotLabels?: Tensor | null): Tensor {
    return this.forward(x);
  }
}

/** A class-conditional G: forward takes [z ; onehot(y)] [B, latentDim + classes, 1, 1] (see conditionalInput). */
export class ConditionalGenerator extends Network {
  constructor(bytesPerImage: number, layers: Module[], readonly classes: number, readonly latentDim: number, readonly embedding: Embedding | null) {
    super(bytesPerImage, layers);
    if (embedding) this.child('embedding', embedding);
  }
  override forward(x: Tensor): Tensor {
    const { latentDim, classes } = this;
    const b = x.shape[0];
    if (x.rank !== 4 || x.shape[1] !== latentDim + classes) {
      throw new Error(`ConditionalGenerator: expects [z ; onehot(y)] of shape [B, ${latentDim} + ${classes}, 1, 1], got [${x.shape.join(', ')}]`);
    }
    const z = narrow(x, 1, 0, latentDim);
    const labels = reshape(narrow(x, 1, latentDim, classes), [b, classes]);
    let h = this.embedding ? concat([z, reshape(this.embedding.forward(labels), [b, this.embedding.embeddingDim, 1, 1])], 1) : z;
    for (const layer of this.layers) h = layer instanceof ConditionalBatchNorm2d ? layer.forwardWithClasses(h, labels) : layer.forward(h);
    return h;
  }
  /** The same network (the same tensors) with `extra` layers after the last: withSignedOutput's 2x − 1. */
  extended(extra: Module[]): ConditionalGenerator {
    return new ConditionalGenerator(this.bytesPerImage, [...this.layers, ...extra], this.classes, this.latentDim, this.embedding);
  }
}

/** D with a projection term; `split` is the index of its last weighted layer (φ is the layers before it). */
export class ProjectionDiscriminator extends Network {
  constructor(bytesPerImage: number, layers: Module[], readonly split: number, readonly projection: Embedding) {
    super(bytesPerImage, layers);
    this.child('projection', projection);
  }
  get classes(): number {
    return this.projection.numEmbeddings;
  }
  override forward(_x: Tensor): Tensor {
    throw new Error('ProjectionDiscriminator: needs the class of each image; call discriminate(x, oneHot(labels))');
  }
  override discriminate(x: Tensor, oneHotLabels?: Tensor | null): Tensor {
    if (!oneHotLabels) throw new Error('ProjectionDiscriminator: needs the class of each image (one-hot rows), got none');
    let h = x;
    for (const layer of this.layers.slice(0, this.split)) h = layer.forward(h);
    let logit = h;
    for (const layer of this.layers.slice(this.split)) logit = layer.forward(logit);
    const phi = flatten(h);
    // ⟨E_D[y], φ⟩ as the class's column of φ·E_Dᵀ [B, classes]: small products instead of a pass over [B, F]
    if (oneHotLabels.rank !== 2 || oneHotLabels.shape[1] !== this.classes) {
      throw new Error(`ProjectionDiscriminator: expects one-hot rows [B, ${this.classes}], got [${oneHotLabels.shape.join(', ')}]`);
    }
    const projected = sum(mul(oneHotLabels, matmul(phi, this.projection.weight, { transposeB: true })), 1, true);
    return add(reshape(logit, [x.shape[0], 1]), projected);
  }
}

/** [z ; onehot(labels)] [B, latentDim + classes, 1, 1] for a conditional G, from z [B, latentDim, 1, 1]. */
export function conditionalInput(engine: Engine, z: Tensor, labels: ArrayLike<number>, classes: number): Tensor {
  const b = z.shape[0];
  if (labels.length !== b) throw new Error(`conditionalInput: ${labels.length} labels for ${b} latent vectors`);
  const rows = oneHot(engine, labels, classes);
  const out = withOneHot(z, rows);
  rows.dispose();
  return out;
}

/** [z ; rows]: z [B, latentDim, 1, 1] with one-hot rows [B, classes] already on the device, as [B, latentDim + classes, 1, 1]. */
export function withOneHot(z: Tensor, rows: Tensor): Tensor {
  return concat([z, reshape(rows, [z.shape[0], rows.shape[1], 1, 1])], 1);
}

/** Classes for images start…start + count − 1 of a balanced set: image i asks for class i mod classes. */
export function balancedLabels(start: number, count: number, classes: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => (start + i) % classes);
}

/** G's input for z: z itself, or for a conditional G [z ; onehot(labels)] (labels default balancedLabels from 0). */
export function generatorInput(engine: Engine, G: Module, z: Tensor, labels?: ArrayLike<number>): Tensor {
  if (!(G instanceof ConditionalGenerator)) return z;
  return conditionalInput(engine, z, labels ?? balancedLabels(0, z.shape[0], G.classes), G.classes);
}
