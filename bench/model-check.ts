// Evidence that the systems compared train the same DCGAN: per layer, its output shape (per image, as C×H×W
// whatever the system's layout) and its parameter count, for G and D.
import type { Engine } from '../src/runtime/engine.js';
import type { Sequential } from '../src/nn/layers.js';
import { buildGenerator, buildDiscriminator } from '../src/gan/models.js';
import { randn } from '../src/tensor/ops/create.js';
import { noGrad, tidy } from '../src/tensor/autograd.js';

export interface LayerFacts {
  name: string;
  /** Output shape of one image, channels first: "128×7×7". */
  shape: string;
  params: number;
}

export interface ModelFacts {
  G: LayerFacts[];
  D: LayerFacts[];
}

export const LATENT_DIM = 100;

export const totalParams = (layers: LayerFacts[]) => layers.reduce((n, l) => n + l.params, 0);

/** "C×H×W" from a batched shape in NCHW (atelier) or NHWC (tfjs) layout. */
export function perImageShape(shape: readonly number[], layout: 'NCHW' | 'NHWC'): string {
  const dims = shape.slice(1);
  if (dims.length === 3 && layout === 'NHWC') dims.unshift(dims.pop()!);
  return dims.join('×');
}

function atelierLayers(engine: Engine, model: Sequential, input: number[]): LayerFacts[] {
  return noGrad(engine, () => tidy(engine, () => {
    const facts: LayerFacts[] = [];
    let x = randn(engine, input);
    for (const layer of model.layers) {
      x = layer.forward(x);
      facts.push({ name: layer.describe(), shape: perImageShape(x.shape, 'NCHW'), params: layer.parameterCount() });
    }
    return facts;
  }));
}

/** Runs a fresh G and D layer by layer on a batch of 2 (batchnorm needs more than one value per channel). */
export function atelierModelFacts(engine: Engine): ModelFacts {
  const G = buildGenerator(engine, LATENT_DIM);
  const D = buildDiscriminator(engine);
  try {
    return { G: atelierLayers(engine, G, [2, LATENT_DIM, 1, 1]), D: atelierLayers(engine, D, [2, 1, 28, 28]) };
  } finally {
    G.dispose();
    D.dispose();
  }
}

/** Every difference from the first system's layers, parameter counts and output shapes (empty: the same). */
export function modelDifferences(systems: Record<string, ModelFacts>): string[] {
  const [[refName, ref], ...others] = Object.entries(systems);
  const problems: string[] = [];
  for (const [name, facts] of others) {
    for (const net of ['G', 'D'] as const) {
      const a = ref[net];
      const b = facts[net];
      if (a.length !== b.length) problems.push(`${net}: ${refName} has ${a.length} layers, ${name} ${b.length}`);
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (a[i].shape !== b[i].shape) problems.push(`${net} layer ${i}: output ${a[i].shape} in ${refName}, ${b[i].shape} in ${name}`);
        if (a[i].params !== b[i].params) problems.push(`${net} layer ${i}: ${a[i].params} parameters in ${refName}, ${b[i].params} in ${name}`);
      }
    }
  }
  return problems;
}
