// A GAN's architecture as data: the generator and discriminator as lists of layers, with the image they make
// and the parts of the training recipe that are not flags. It is JSON, written into every checkpoint's metadata
// ("model"), so a file alone says how to build its networks. Checked here, on the host, before anything is
// allocated: every field's type and cap, each layer's input against the previous layer's output, and (by the
// caller, with checkState) every tensor against stateShapesOf. Browser-safe.
//
// The optional top-level `conditional: { classes, embedding? }` makes both networks class-conditional (network.ts).
// G takes the class through its `conditionalBatchNorm2d` layers (γ and β rows per class), or, with `embedding`,
// through a class embedding "embedding.weight" concatenated to z (G's first layer then takes latentDim +
// embedding inputs). D gets a projection term "projection.weight" [classes, F] over the F features before its
// last weighted layer.
// validateSpec refuses top-level keys it does not know, so an older build refuses such a file rather than
// misreading it.
import type { Engine } from '../runtime/engine.js';
import type { Module } from '../nn/module.js';
import {
  Conv2d, ConvTranspose2d, BatchNorm2d, BatchNorm1d, Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Flatten, Reshape, Upsample, Dropout,
  MinibatchStd, samePadding, ToSignedRange, type ConvOptions,
} from '../nn/layers.js';
import { SpectralNormConv2d } from '../nn/spectral-norm.js';
import { ConditionalBatchNorm2d } from '../nn/conditional-batchnorm.js';
import { CheckpointError } from './checkpoint.js';
import { Embedding } from '../nn/embedding.js';
import { glorotUniform } from '../nn/init.js';
import { Network, ConditionalGenerator, ProjectionDiscriminator } from './network.js';

export { Network, ConditionalGenerator, ProjectionDiscriminator } from './network.js';

export const SPEC_FORMAT = 'atelier-gan-spec/1';

/** Caps on a spec's sizes, as the flags cap them (--ngf/--ndf 1024 → 2048 inner channels, --latent-dim 4096). */
export const SPEC_LIMITS = {
  latentDim: 4096,
  channels: 2048,
  /** Features of a Dense layer: the widest DCGAN's 2·1024·7·7. */
  features: 2048 * 49,
  kernel: 16,
  stride: 8,
  padding: 16,
  upsample: 8,
  /** Images per minibatch-std group: the largest --batch-size. */
  groupSize: 4096,
  layers: 64,
  /** Floats of one image's activation after any layer (16 MiB). */
  activation: 4 * 1024 * 1024,
  /** Floats in one layer's weight: the largest --latent-dim × --ngf DCGAN layer's (4096 × 2048 × 7 × 7). */
  weight: 4096 * 2048 * 49,
  /** Classes of a conditional model, and the size of G's class embedding (the rule of --latent-dim). */
  classes: 1000,
  embedding: 4096,
} as const;

export type Padding = number | 'same';

export type LayerSpec =
  | { type: 'linear'; in: number; out: number; bias: boolean }
  | { type: 'conv2d'; in: number; out: number; kernel: number; stride: number; padding: Padding; bias: boolean; spectralNorm?: boolean }
  | { type: 'convTranspose2d'; in: number; out: number; kernel: number; stride: number; padding: Padding; bias: boolean }
  | { type: 'batchNorm2d'; channels: number; momentum: number; eps: number }
  | { type: 'batchNorm1d'; features: number; momentum: number; eps: number }
  /** Batchnorm whose γ and β are rows chosen by the image's class (a conditional G only; nn/conditional-batchnorm.ts). */
  | { type: 'conditionalBatchNorm2d'; channels: number; classes: number; momentum: number; eps: number }
  | { type: 'relu' } | { type: 'tanh' } | { type: 'sigmoid' } | { type: 'flatten' }
  | { type: 'leakyRelu'; slope: number }
  | { type: 'reshape'; shape: number[] }
  | { type: 'upsample'; scale: number }
  | { type: 'dropout'; p: number }
  /** Appends one map: the minibatch standard deviation over groups of groupSize images (ops/minibatch-std.ts). */
  | { type: 'minibatchStd'; groupSize: number };

export type LayerType = LayerSpec['type'];
/** Images a generator makes and a discriminator reads: [-1, 1] (tanh) or [0, 1] (sigmoid). */
export type ImageRange = '[-1,1]' | '[0,1]';

export interface GanSpec {
  format: typeof SPEC_FORMAT;
  /** The preset it was made from (informative: the layers below are what is built). */
  preset: string;
  latentDim: number;
  image: { channels: number; height: number; width: number; range: ImageRange };
  generator: LayerSpec[];
  discriminator: LayerSpec[];
  /** Weight initialisation: 'dcgan' N(0, 0.02) (Radford et al.), 'glorot' uniform with zero biases (Keras), 'default' PyTorch's. */
  init: 'dcgan' | 'glorot' | 'default';
  training: {
    /** 'real-1': D's targets real → realLabel, fake → 0; 'real-0' (inverted): real → 0, fake → 1. G's target is the real one. */
    labels: 'real-1' | 'real-0';
    /** D's mode inside G's step: 'train' (dropout and batch statistics on) or 'eval' (as the Keras project). */
    discriminatorInGeneratorStep: 'train' | 'eval';
    /** Adam's ε (PyTorch 1e-8, Keras 1e-7). */
    adamEps: number;
  };
  /** Class-conditional G (conditional batchnorm, or a class embedding concatenated to z) and projection D; absent: unconditional. */
  conditional?: ConditionalSpec;
}

export interface ConditionalSpec {
  /** Classes y ∈ 0…classes−1 (Fashion-MNIST: 10). */
  classes: number;
  /** Size of G's class embedding concatenated to z (50, as in common cGAN references); absent: G takes the class
   * through its conditionalBatchNorm2d layers alone. */
  embedding?: number;
}

/** A [C, H, W] or [F] activation shape of one image. */
export type ImageShape = number[];

export interface StateShapes {
  parameters: [string, number[]][];
  buffers: [string, number[]][];
}

const fail = (source: string, what: string) => new CheckpointError(`${source}: ${what}`);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shown = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
};

const LAYER_FIELDS: Record<LayerType, Record<string, 'int' | 'number' | 'boolean' | 'padding' | 'shape' | 'boolean?'>> = {
  linear: { in: 'int', out: 'int', bias: 'boolean' },
  conv2d: { in: 'int', out: 'int', kernel: 'int', stride: 'int', padding: 'padding', bias: 'boolean', spectralNorm: 'boolean?' },
  convTranspose2d: { in: 'int', out: 'int', kernel: 'int', stride: 'int', padding: 'padding', bias: 'boolean' },
  batchNorm2d: { channels: 'int', momentum: 'number', eps: 'number' },
  batchNorm1d: { features: 'int', momentum: 'number', eps: 'number' },
  conditionalBatchNorm2d: { channels: 'int', classes: 'int', momentum: 'number', eps: 'number' },
  relu: {}, tanh: {}, sigmoid: {}, flatten: {},
  leakyRelu: { slope: 'number' },
  reshape: { shape: 'shape' },
  upsample: { scale: 'int' },
  dropout: { p: 'number' },
  minibatchStd: { groupSize: 'int' },
};

/** One layer's fields checked for type and cap; the error names `where` (e.g. "generator layer 3 (conv2d)"). */
function validateLayer(raw: unknown, where: string, source: string): LayerSpec {
  if (!isObject(raw)) throw fail(source, `model spec ${where} is ${shown(raw)}, not a layer object; the file is corrupt`);
  const type = raw.type;
  if (typeof type !== 'string' || !Object.hasOwn(LAYER_FIELDS, type)) {
    throw fail(source, `model spec ${where} has unknown layer type ${shown(type)}; this build knows ${Object.keys(LAYER_FIELDS).join(', ')}`);
  }
  const named = `${where.replace(/ \(.*\)$/, '')} (${type})`;
  const fields = LAYER_FIELDS[type as LayerType];
  for (const key of Object.keys(raw)) {
    if (key !== 'type' && !Object.hasOwn(fields, key)) throw fail(source, `model spec ${named} has unknown field ${shown(key)}; the file is corrupt or from a newer atelier`);
  }
  const cap: Record<string, number> = { in: SPEC_LIMITS.features, out: SPEC_LIMITS.features, channels: SPEC_LIMITS.channels, classes: SPEC_LIMITS.classes, features: SPEC_LIMITS.features, kernel: SPEC_LIMITS.kernel, stride: SPEC_LIMITS.stride, scale: SPEC_LIMITS.upsample, groupSize: SPEC_LIMITS.groupSize };
  if (type === 'conv2d' || type === 'convTranspose2d') cap.in = cap.out = SPEC_LIMITS.channels;
  for (const [key, kind] of Object.entries(fields)) {
    const v = raw[key];
    const bad = (why: string) => fail(source, `model spec ${named} field "${key}" is ${shown(v)}: ${why}; the file is corrupt`);
    if (v === undefined) {
      if (kind === 'boolean?') continue;
      throw fail(source, `model spec ${named} has no "${key}"; the file is corrupt`);
    }
    if (kind === 'int' && !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= cap[key])) throw bad(`expected a whole number 1…${cap[key]}`);
    if (kind === 'number' && !(typeof v === 'number' && Number.isFinite(v))) throw bad('expected a finite number');
    if ((kind === 'boolean' || kind === 'boolean?') && typeof v !== 'boolean') throw bad('expected true or false');
    if (kind === 'padding' && v !== 'same' && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= SPEC_LIMITS.padding)) throw bad(`expected 'same' or a whole number 0…${SPEC_LIMITS.padding}`);
    if (kind === 'shape' && !(Array.isArray(v) && v.length >= 1 && v.length <= 3 && v.every((d) => Number.isInteger(d) && d >= 1 && d <= SPEC_LIMITS.features))) {
      throw bad(`expected 1 to 3 whole numbers 1…${SPEC_LIMITS.features}`);
    }
  }
  const r = raw as Record<string, number>;
  if (type === 'dropout' && !(r.p >= 0 && r.p < 1)) throw fail(source, `model spec ${named} field "p" is ${shown(r.p)}: expected 0 ≤ p < 1; the file is corrupt`);
  if ((type === 'batchNorm2d' || type === 'batchNorm1d' || type === 'conditionalBatchNorm2d') && !(r.momentum > 0 && r.momentum <= 1 && r.eps > 0 && r.eps < 1)) {
    throw fail(source, `model spec ${named} momentum ${shown(r.momentum)} / eps ${shown(r.eps)}: expected 0 < momentum ≤ 1 and 0 < eps < 1; the file is corrupt`);
  }
  return { ...raw } as LayerSpec;
}

/**
 * A spec from parsed JSON, every field checked (see SPEC_LIMITS), then the layers' shapes (stateShapesOf) so a
 * layer whose input does not fit the previous layer's output is refused. Throws CheckpointError naming
 * `source`, the network, the layer index and type, and the field.
 */
export function validateSpec(raw: unknown, source: string): GanSpec {
  if (!isObject(raw)) throw fail(source, `model spec is ${shown(raw)}, not an object; the file is corrupt`);
  const known = ['format', 'preset', 'latentDim', 'image', 'generator', 'discriminator', 'init', 'training'];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key) && key !== 'conditional') throw fail(source, `model spec has unknown field ${shown(key)}; the file is corrupt or from a newer atelier`);
  }
  for (const key of known) if (raw[key] === undefined) throw fail(source, `model spec has no "${key}"; the file is corrupt`);
  if (raw.format !== SPEC_FORMAT) throw fail(source, `model spec format is ${shown(raw.format)}, expected "${SPEC_FORMAT}"`);
  if (typeof raw.preset !== 'string' || raw.preset.length > 64) throw fail(source, `model spec "preset" is ${shown(raw.preset)}, not a name`);
  const latentDim = raw.latentDim;
  if (!(Number.isInteger(latentDim) && (latentDim as number) >= 1 && (latentDim as number) <= SPEC_LIMITS.latentDim)) {
    throw fail(source, `model spec "latentDim" is ${shown(latentDim)}: expected a whole number 1…${SPEC_LIMITS.latentDim} (the rule of --latent-dim); the file is corrupt`);
  }
  const image = raw.image;
  if (!isObject(image) || image.channels !== 1 || image.height !== 28 || image.width !== 28 || (image.range !== '[-1,1]' && image.range !== '[0,1]')) {
    throw fail(source, `model spec "image" is ${shown(image)}: expected {"channels":1,"height":28,"width":28,"range":"[-1,1]" or "[0,1]"}`);
  }
  if (raw.init !== 'dcgan' && raw.init !== 'glorot' && raw.init !== 'default') throw fail(source, `model spec "init" is ${shown(raw.init)}: expected "dcgan", "glorot" or "default"`);
  const t = raw.training;
  if (!isObject(t) || (t.labels !== 'real-1' && t.labels !== 'real-0') || (t.discriminatorInGeneratorStep !== 'train' && t.discriminatorInGeneratorStep !== 'eval') ||
    !(typeof t.adamEps === 'number' && t.adamEps > 0 && t.adamEps < 1) || Object.keys(t).length !== 3) {
    throw fail(source, `model spec "training" is ${shown(t)}: expected {"labels":"real-1"|"real-0","discriminatorInGeneratorStep":"train"|"eval","adamEps":0…1}`);
  }
  const layers = (net: 'generator' | 'discriminator'): LayerSpec[] => {
    const list = raw[net];
    if (!Array.isArray(list) || list.length < 1 || list.length > SPEC_LIMITS.layers) {
      throw fail(source, `model spec "${net}" is ${shown(list)}: expected a list of 1…${SPEC_LIMITS.layers} layers`);
    }
    return list.map((l, i) => validateLayer(l, `${net} layer ${i}`, source));
  };
  const spec: GanSpec = {
    format: SPEC_FORMAT, preset: raw.preset, latentDim: latentDim as number,
    image: { channels: 1, height: 28, width: 28, range: image.range as ImageRange },
    generator: layers('generator'), discriminator: layers('discriminator'), init: raw.init,
    training: { labels: t.labels, discriminatorInGeneratorStep: t.discriminatorInGeneratorStep, adamEps: t.adamEps },
  };
  if (raw.conditional !== undefined) spec.conditional = validateConditional(raw.conditional, source);
  generatorShapes(spec, source);
  discriminatorShapes(spec, source);
  return spec;
}

function validateConditional(c: unknown, source: string): ConditionalSpec {
  const expected = `expected {"classes":1…${SPEC_LIMITS.classes}} and optionally "embedding":1…${SPEC_LIMITS.embedding} (whole numbers)`;
  if (!isObject(c)) throw fail(source, `model spec "conditional" is ${shown(c)}: ${expected}; the file is corrupt`);
  for (const key of Object.keys(c)) {
    if (key !== 'classes' && key !== 'embedding') throw fail(source, `model spec "conditional" has unknown field ${shown(key)}; the file is corrupt or from a newer atelier`);
  }
  for (const key of ['classes', 'embedding'] as const) {
    const v = c[key];
    if (key === 'embedding' && v === undefined) continue;
    if (!(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= SPEC_LIMITS[key])) {
      throw fail(source, `model spec "conditional" field "${key}" is ${shown(v)}: ${expected}; the file is corrupt`);
    }
  }
  return c.embedding === undefined ? { classes: c.classes as number } : { classes: c.classes as number, embedding: c.embedding as number };
}

/** What a network's layers hold and make, one image at a time. */
export interface NetworkShapes extends StateShapes {
  output: ImageShape;
  /** Bytes of the largest per-image buffer a forward pass makes (an activation or a conv's unfolded input). */
  bytesPerImage: number;
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * The state names and shapes of a layer list (as Sequential numbers them: "<index>.weight"), its output shape
 * for one image of `input`, and its largest per-image buffer, from the spec alone. Throws CheckpointError
 * naming `net`, the layer and why its input does not fit.
 */
export function stateShapesOf(layers: readonly LayerSpec[], input: ImageShape, net: string, source: string): NetworkShapes {
  const out: NetworkShapes = { parameters: [], buffers: [], output: input, bytesPerImage: 4 * size(input) };
  let shape = [...input];
  layers.forEach((l, i) => {
    const where = `${net} layer ${i} (${l.type})`;
    const refuse = (why: string) => fail(source, `model spec ${where}: ${why}`);
    const need = (expected: string, ok: boolean) => {
      if (!ok) throw refuse(`its input is [${shape.join(', ')}], expected ${expected}; the spec contradicts itself`);
    };
    const param = (name: string, s: number[]) => {
      if (size(s) > SPEC_LIMITS.weight) throw refuse(`its ${name} [${s.join(', ')}] has more than ${SPEC_LIMITS.weight} values`);
      out.parameters.push([`${i}.${name}`, s]);
    };
    switch (l.type) {
      case 'linear':
        need(`[${l.in}]`, same(shape, [l.in]));
        param('weight', [l.out, l.in]);
        if (l.bias) param('bias', [l.out]);
        shape = [l.out];
        break;
      case 'conv2d': {
        need(`[${l.in}, H, W]`, shape.length === 3 && shape[0] === l.in);
        const [, h, w] = shape;
        const dims = [h, w].map((d) => {
          if (l.padding === 'same') return Math.ceil(d / l.stride);
          return Math.floor((d + 2 * l.padding - l.kernel) / l.stride) + 1;
        });
        if (!(dims[0] >= 1 && dims[1] >= 1)) throw refuse(`a ${l.kernel}×${l.kernel} kernel does not fit its ${h}×${w} input`);
        param('weight', [l.out, l.in, l.kernel, l.kernel]);
        if (l.bias) param('bias', [l.out]);
        if (l.spectralNorm) out.buffers.push([`${i}.weight_u`, [l.out, 1]], [`${i}.weight_v`, [l.in * l.kernel * l.kernel, 1]]);
        out.bytesPerImage = Math.max(out.bytesPerImage, 4 * l.in * l.kernel * l.kernel * dims[0] * dims[1]);
        shape = [l.out, dims[0], dims[1]];
        break;
      }
      case 'convTranspose2d': {
        need(`[${l.in}, H, W]`, shape.length === 3 && shape[0] === l.in);
        const [, h, w] = shape;
        if (l.padding === 'same' && l.kernel < l.stride) throw refuse(`'same' needs a kernel of at least the stride (${l.stride})`);
        const dims = [h, w].map((d) => (l.padding === 'same' ? d * l.stride : (d - 1) * l.stride - 2 * l.padding + l.kernel));
        if (!(dims[0] >= 1 && dims[1] >= 1)) throw refuse(`its padding leaves an empty output from its ${h}×${w} input`);
        param('weight', [l.in, l.out, l.kernel, l.kernel]);
        if (l.bias) param('bias', [l.out]);
        out.bytesPerImage = Math.max(out.bytesPerImage, 4 * l.out * l.kernel * l.kernel * h * w);
        shape = [l.out, dims[0], dims[1]];
        break;
      }
      case 'batchNorm2d':
        need(`[${l.channels}, H, W]`, shape.length === 3 && shape[0] === l.channels);
        param('weight', [l.channels]);
        param('bias', [l.channels]);
        out.buffers.push([`${i}.running_mean`, [l.channels]], [`${i}.running_var`, [l.channels]]);
        break;
      case 'conditionalBatchNorm2d':
        need(`[${l.channels}, H, W]`, shape.length === 3 && shape[0] === l.channels);
        param('weight', [l.classes, l.channels]);
        param('bias', [l.classes, l.channels]);
        out.buffers.push([`${i}.running_mean`, [l.channels]], [`${i}.running_var`, [l.channels]]);
        break;
      case 'batchNorm1d':
        need(`[${l.features}]`, same(shape, [l.features]));
        param('weight', [l.features]);
        param('bias', [l.features]);
        out.buffers.push([`${i}.running_mean`, [l.features]], [`${i}.running_var`, [l.features]]);
        break;
      case 'flatten':
        shape = [size(shape)];
        break;
      case 'reshape':
        need(`${size(l.shape)} values for [${l.shape.join(', ')}]`, size(shape) === size(l.shape));
        shape = [...l.shape];
        break;
      case 'upsample':
        need('[C, H, W]', shape.length === 3);
        shape = [shape[0], shape[1] * l.scale, shape[2] * l.scale];
        break;
      case 'minibatchStd':
        need('[C, H, W]', shape.length === 3);
        if (shape[0] + 1 > SPEC_LIMITS.channels) throw refuse(`its output would have more than ${SPEC_LIMITS.channels} channels`);
        shape = [shape[0] + 1, shape[1], shape[2]];
        break;
      default:
        break; // elementwise: shape unchanged
    }
    if (size(shape) > SPEC_LIMITS.activation) throw refuse(`its output [${shape.join(', ')}] has more than ${SPEC_LIMITS.activation} values per image`);
    out.bytesPerImage = Math.max(out.bytesPerImage, 4 * size(shape));
  });
  out.output = shape;
  return out;
}

/**
 * G's shapes: from z [latentDim, 1, 1] (with a conditional spec that has an embedding, z and the class
 * embedding: [latentDim + embedding, 1, 1], and "embedding.weight" [classes, embedding]) to the spec's image.
 * A conditionalBatchNorm2d layer needs a conditional spec of its number of classes, and a conditional G needs
 * an embedding or such a layer (else it would not see the class).
 */
export function generatorShapes(spec: GanSpec, source = 'model spec'): NetworkShapes {
  const c = spec.conditional;
  const conditionalLayers = spec.generator.flatMap((l, i) => (l.type === 'conditionalBatchNorm2d' ? [[l, i] as const] : []));
  for (const [l, i] of conditionalLayers) {
    if (!c) throw fail(source, `model spec generator layer ${i} (conditionalBatchNorm2d): needs the class of each image, but the spec has no "conditional"; the spec contradicts itself`);
    if (l.classes !== c.classes) throw fail(source, `model spec generator layer ${i} (conditionalBatchNorm2d) has ${l.classes} classes, "conditional" has ${c.classes}; the spec contradicts itself`);
  }
  if (c && c.embedding === undefined && conditionalLayers.length === 0) {
    throw fail(source, 'model spec "conditional" has no "embedding" and the generator no conditionalBatchNorm2d layer: G would not see the class; the spec contradicts itself');
  }
  const s = stateShapesOf(spec.generator, [spec.latentDim + (c?.embedding ?? 0), 1, 1], c?.embedding ? 'generator (input: z and the class embedding)' : 'generator', source);
  const { channels, height, width } = spec.image;
  if (!same(s.output, [channels, height, width])) {
    throw fail(source, `model spec generator makes [${s.output.join(', ')}] from z, not the image [${channels}, ${height}, ${width}]; the spec contradicts itself`);
  }
  if (c?.embedding) s.parameters.push(['embedding.weight', [c.classes, c.embedding]]);
  return s;
}

/** D's shapes: from the image to one logit (with a conditional spec, and "projection.weight" [classes, F]; see projectionSplit). */
export function discriminatorShapes(spec: GanSpec, source = 'model spec'): NetworkShapes {
  const { channels, height, width } = spec.image;
  const s = stateShapesOf(spec.discriminator, [channels, height, width], 'discriminator', source);
  const conditionalLayer = spec.discriminator.findIndex((l) => l.type === 'conditionalBatchNorm2d');
  if (conditionalLayer >= 0) throw fail(source, `model spec discriminator layer ${conditionalLayer} (conditionalBatchNorm2d): D takes the class through its projection alone; the file is corrupt`);
  if (!same(s.output, [1])) throw fail(source, `model spec discriminator ends in [${s.output.join(', ')}], not one logit [1]; the spec contradicts itself`);
  const c = spec.conditional;
  if (c) {
    const features = projectionFeatures(spec, source);
    if (c.classes * features > SPEC_LIMITS.weight) throw fail(source, `model spec "conditional": the projection [${c.classes}, ${features}] has more than ${SPEC_LIMITS.weight} values`);
    s.parameters.push(['projection.weight', [c.classes, features]]);
  }
  return s;
}

const SHAPE_ONLY: ReadonlySet<LayerType> = new Set(['flatten', 'reshape']);

/**
 * The index of D's last weighted layer, which a projection discriminator keeps as its unconditional output:
 * it must be linear or conv2d (to one logit: the spec's output is [1]) with nothing after it but flatten or
 * reshape. Throws CheckpointError naming the layer when D does not have this form.
 */
export function projectionSplit(layers: readonly LayerSpec[], source = 'model spec'): number {
  let last = layers.length - 1;
  while (last >= 0 && SHAPE_ONLY.has(layers[last].type)) last--;
  const l = layers[last];
  if (!l || (l.type !== 'linear' && l.type !== 'conv2d')) {
    const where = l ? `layer ${last} (${l.type})` : 'has no weighted layer; it';
    throw fail(source, `model spec discriminator ${where}: a projection discriminator (conditional) needs D to end in a linear or conv2d layer to one logit, then nothing but flatten/reshape; this D does not fit class-conditional training`);
  }
  return last;
}

/** F: the features φ(x) before D's last weighted layer, one image's (the projection's width). */
export function projectionFeatures(spec: GanSpec, source = 'model spec'): number {
  const split = projectionSplit(spec.discriminator, source);
  const { channels, height, width } = spec.image;
  return size(stateShapesOf(spec.discriminator.slice(0, split), [channels, height, width], 'discriminator', source).output);
}

/**
 * A spec made class-conditional, with `classes` classes, and D given a projection (projectionSplit). G takes
 * the class through conditional batchnorm where it has batchnorm: each batchNorm2d becomes a
 * conditionalBatchNorm2d, as in Miyato & Koyama 2018's generator. Only a G without batchNorm2d gets a class
 * embedding of `embedding` concatenated to z (its first layer's `in`: latentDim → latentDim + embedding). (With
 * the embedding concatenated ahead of batchnorm, the classes' spread swamps z's in the first layer's batch
 * statistics: the reference DCGAN trained so drew one image per class, recall 0.000 after 2 epochs.) Throws
 * CheckpointError when G has neither batchnorm nor a first layer reading z, or D does not fit a projection.
 */
export function conditionalSpec(spec: GanSpec, { classes, embedding }: { classes: number; embedding: number }): GanSpec {
  projectionSplit(spec.discriminator, spec.preset);
  if (spec.generator.some((l) => l.type === 'batchNorm2d')) {
    const generator = spec.generator.map((l): LayerSpec => (l.type === 'batchNorm2d' ? { type: 'conditionalBatchNorm2d', channels: l.channels, classes, momentum: l.momentum, eps: l.eps } : l));
    return { ...spec, generator, conditional: { classes } };
  }
  const first = spec.generator.findIndex((l) => !SHAPE_ONLY.has(l.type));
  const l = spec.generator[first];
  if (!l || !(l.type === 'linear' || l.type === 'conv2d' || l.type === 'convTranspose2d') || l.in !== spec.latentDim) {
    throw fail(spec.preset, `its generator has no batchnorm and does not start with a layer reading z (${spec.latentDim} inputs) that a class embedding could widen; it cannot be made class-conditional`);
  }
  const generator = spec.generator.map((layer, i) => (i === first ? { ...layer, in: spec.latentDim + embedding } as LayerSpec : layer));
  return { ...spec, generator, conditional: { classes, embedding } };
}

export const parameterCount = (s: StateShapes) => s.parameters.reduce((n, [, shape]) => n + size(shape), 0);
export const bufferCount = (s: StateShapes) => s.buffers.reduce((n, [, shape]) => n + size(shape), 0);

/**
 * G with images in [−1, 1], what sampling, evaluation and the sample grids expect: G itself for a [−1, 1] spec,
 * else a Network over G's layers (the same tensors, the same state names) with 2x − 1 appended. Dispose one of
 * the two, not both.
 */
export function withSignedOutput(G: Network, spec: GanSpec): Network {
  if (spec.image.range === '[-1,1]') return G;
  return G instanceof ConditionalGenerator ? G.extended([ToSignedRange()]) : new Network(G.bytesPerImage, [...G.layers, ToSignedRange()]);
}

function buildLayer(engine: Engine, l: LayerSpec): Module {
  switch (l.type) {
    case 'linear': return new Linear(engine, l.in, l.out, { bias: l.bias });
    case 'conv2d': {
      const options: ConvOptions = { stride: l.stride, padding: l.padding, bias: l.bias };
      return l.spectralNorm ? new SpectralNormConv2d(engine, l.in, l.out, l.kernel, options) : new Conv2d(engine, l.in, l.out, l.kernel, options);
    }
    case 'convTranspose2d': return new ConvTranspose2d(engine, l.in, l.out, l.kernel, { stride: l.stride, padding: l.padding, bias: l.bias });
    case 'batchNorm2d': return new BatchNorm2d(engine, l.channels, { momentum: l.momentum, eps: l.eps });
    case 'batchNorm1d': return new BatchNorm1d(engine, l.features, { momentum: l.momentum, eps: l.eps });
    case 'conditionalBatchNorm2d': return new ConditionalBatchNorm2d(engine, l.channels, l.classes, { momentum: l.momentum, eps: l.eps });
    case 'relu': return ReLU();
    case 'tanh': return Tanh();
    case 'sigmoid': return Sigmoid();
    case 'flatten': return Flatten();
    case 'leakyRelu': return LeakyReLU(l.slope);
    case 'reshape': return Reshape(l.shape);
    case 'upsample': return Upsample(l.scale);
    case 'dropout': return Dropout(l.p);
    case 'minibatchStd': return MinibatchStd(l.groupSize);
  }
}

/** G of a (validated) spec, layers constructed in order (each draws its default initial weights from the engine's stream). */
export function buildGeneratorOf(engine: Engine, spec: GanSpec): Network {
  const bytes = generatorShapes(spec).bytesPerImage;
  const layers = spec.generator.map((l) => buildLayer(engine, l));
  const c = spec.conditional;
  if (!c) return new Network(bytes, layers);
  // The embedding after the layers: it draws its N(0, 1) weights (PyTorch's nn.Embedding) last.
  const embedding = c.embedding ? new Embedding(engine, c.classes, c.embedding) : null;
  return new ConditionalGenerator(bytes, layers, c.classes, spec.latentDim, embedding);
}

/** D of a (validated) spec; a conditional spec's has a projection E_D [classes, F], Glorot-uniform (as SNGAN-projection's code initialises it). */
export function buildDiscriminatorOf(engine: Engine, spec: GanSpec): Network {
  const bytes = discriminatorShapes(spec).bytesPerImage;
  const layers = spec.discriminator.map((l) => buildLayer(engine, l));
  const c = spec.conditional;
  if (!c) return new Network(bytes, layers);
  const features = projectionFeatures(spec);
  const projection = new Embedding(engine, c.classes, features, (e, shape) => glorotUniform(e, shape, features, c.classes));
  return new ProjectionDiscriminator(bytes, layers, projectionSplit(spec.discriminator), projection);
}

/** Keras's 'same' crop of a transposed conv, re-exported for tests. */
export { samePadding };
