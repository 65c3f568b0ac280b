// Model presets and architecture as data: each preset's parameter counts and output shapes, a short training
// run of each with bitwise-equal resume, the spec's round trip through a checkpoint, tampered or contradicting
// specs refused naming the layer, and spec-less (older) files still loading as the reference DCGAN.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine } from './helpers.js';
import { writeTinyFashionMnist } from './tiny-fashion-mnist.js';
import { train } from '../src/cli/train.js';
import { generateImages } from '../src/cli/generate.js';
import { exportGenerator } from '../src/cli/export-generator.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { Progress } from '../src/node/progress.js';
import { PRESETS, findPreset, presetCounts, DEFAULT_WIDTH } from '../src/gan/presets.js';
import { buildGeneratorOf, buildDiscriminatorOf, validateSpec, generatorShapes } from '../src/gan/spec.js';
import { loadGenerator } from '../src/node/load-generator.js';
import { loadTrainingCheckpoint } from '../src/node/checkpoint-files.js';
import { parseTrainOptions, presetList } from '../src/node/train-options.js';
import { randn } from '../src/tensor/ops/create.js';
import { inference } from '../src/nn/layers.js';

let engine: Engine;
let dataDir: string;
const quiet = { log: () => undefined, progress: new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9) };

beforeAll(async () => {
  engine = await getEngine();
  dataDir = mkdtempSync(join(tmpdir(), 'atelier-models-'));
  // Noise whose brightness grows with the class (ankle boots included).
  writeTinyFashionMnist(dataDir, { train: 24, test: 10, seed: 11, image: (_p, c, noise) => Math.round(255 * noise() * (c + 1) / 10) });
});

const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-model-run-'));
const sizes = { ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH, spectralNorm: false };

describe('presets', () => {
  const expected: Record<string, [number, number, number]> = {
    // G parameters, G batchnorm running statistics, D parameters
    dcgan: [759_680, 384, 138_624],
    'keras-upsample': [2_155_137, 0, 1_113_345],
    'mlp-discriminator': [802_177, 0, 533_505],
    'ganerator-1': [212_912, 4_014, 113_473],
    'ganerator-2': [104_881, 1_760, 29_089],
  };
  it.each(Object.keys(expected))('%s has its stated parameter counts, built and from the spec', (name) => {
    const preset = findPreset(name)!;
    const c = presetCounts(preset);
    expect([c.generator, c.generatorBuffers, c.discriminator]).toEqual(expected[name]);
    const spec = preset.spec({ latentDim: preset.defaults.latentDim, ...sizes });
    const G = buildGeneratorOf(engine, spec);
    const D = buildDiscriminatorOf(engine, spec);
    expect(G.parameterCount()).toBe(c.generator);
    expect(D.parameterCount()).toBe(c.discriminator);
    const z = randn(engine, [2, spec.latentDim, 1, 1]);
    const images = inference(engine, G, z);
    expect(images.shape).toEqual([2, 1, 28, 28]);
    expect(inference(engine, D, images).shape).toEqual([2, 1]);
    for (const t of [z, images]) t.dispose();
    G.dispose();
    D.dispose();
  });

  it('GAN2 is the issue\'s 106,641 + 29,089 and 41.1 % of GAN1; keras-upsample is 2,155,137 / 1,113,345', () => {
    const [g1, g2] = ['ganerator-1', 'ganerator-2'].map((n) => presetCounts(findPreset(n)!));
    const total = (c: typeof g1) => c.generator + c.generatorBuffers + c.discriminator;
    expect(g2.generator + g2.generatorBuffers).toBe(106_641);
    expect(g2.discriminator / g1.discriminator).toBeCloseTo(0.256, 3);
    expect(total(g2) / total(g1)).toBeCloseTo(0.411, 3);
  });

  it('--model list prints every preset with its counts and source; --model picks its recipe, flags override', () => {
    const list = presetList();
    for (const p of PRESETS) expect(list).toContain(p.name);
    expect(list).toContain('G 2,155,137, D 1,113,345');
    expect(() => parseTrainOptions(['--model', 'list'])).toThrow(/model presets/);
    expect(() => parseTrainOptions(['--model', 'nope'])).toThrow(/--model nope: unknown model; use one of dcgan, keras-upsample/);
    expect(() => parseTrainOptions(['--model', 'keras-upsample', '--ngf', '32'])).toThrow(/--ngf applies to --model dcgan alone/);
    const k = parseTrainOptions(['--model', 'keras-upsample']);
    expect(k).toMatchObject({ model: 'keras-upsample', lrG: 1e-4, lrD: 1e-5, beta1: 0.9, beta2: 0.999, labelNoise: 0.15, latentDim: 128 });
    expect(parseTrainOptions(['--model', 'keras-upsample', '--lr-d', '3e-5']).lrD).toBe(3e-5);
    expect(parseTrainOptions(['--model', 'mlp-discriminator'])).toMatchObject({ lrG: 1e-4, lrD: 1e-4, batchSize: 128, epochs: 50 });
    expect(parseTrainOptions(['--model', 'ganerator-2'])).toMatchObject({ classes: ['ankle-boot'], limit: 100 });
    expect(parseTrainOptions([])).toMatchObject({ model: 'dcgan', lrG: 2e-4, batchSize: 128, epochs: 20, labelNoise: 0, classes: [] });
  });
});

describe('each preset trains, writes every artifact, and resumes bitwise equal', () => {
  it.each(PRESETS.map((p) => p.name))('%s', async (name) => {
    // ganerator's default data (--class ankle-boot --limit 100) is overridden: the tiny set has few boots.
    const everyClass = Array.from({ length: 10 }, (_, c) => ['--class', String(c)]).flat();
    const flags = ['--model', name, '--data', dataDir, '--batch-size', '8', '--seed', '5', '--epochs', '1', '--limit', '24', ...everyClass];
    const whole = tmp();
    expect(await train([...flags, '--out', whole], { engine, ...quiet })).toMatchObject({ steps: 3, stopped: false });
    for (const f of ['samples/epoch_001.png', 'loss.png', 'metrics.jsonl', 'checkpoints/latest.safetensors', 'checkpoints/epoch_001.safetensors']) {
      expect(existsSync(join(whole, f)), f).toBe(true);
    }
    const parts = tmp();
    expect(await train([...flags, '--out', parts, '--max-steps', '2'], { engine, ...quiet })).toMatchObject({ steps: 2, stopped: true });
    expect(await train(['--resume', parts], { engine, ...quiet })).toMatchObject({ steps: 3, stopped: false });
    const a = readSafetensors(join(whole, 'checkpoints/latest.safetensors'));
    const b = readSafetensors(join(parts, 'checkpoints/latest.safetensors'));
    expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
    for (const n of Object.keys(a.tensors)) expect(Buffer.from(b.tensors[n].data.buffer).equals(Buffer.from(a.tensors[n].data.buffer)), n).toBe(true);
    // The spec is in the file; resume refuses another --model; generate and export build from the file alone.
    expect(JSON.parse(a.metadata.model).preset).toBe(name);
    const other = name === 'dcgan' ? 'mlp-discriminator' : 'dcgan';
    await expect(train(['--resume', parts, '--model', other], { engine, ...quiet })).rejects.toThrow(/--model "?.*contradicts the checkpoint/);
    const exported = join(whole, 'g.safetensors');
    exportGenerator(['--checkpoint', join(whole, 'checkpoints/latest.safetensors'), '--out', exported]);
    expect(JSON.parse(readSafetensors(exported).metadata.model)).toEqual(JSON.parse(a.metadata.model));
    const { files } = await generateImages(['--checkpoint', exported, '--n', '4', '--out', join(whole, 'grid.png')], engine);
    expect(existsSync(files[0])).toBe(true);
  }, 600_000);
});

describe('the spec in a checkpoint', () => {
  const specOf = (name: string) => { const p = findPreset(name)!; return p.spec({ latentDim: p.defaults.latentDim, ...sizes }); };

  it('round-trips through a checkpoint and builds the same network', async () => {
    const out = tmp();
    await train(['--model', 'ganerator-2', '--data', dataDir, '--batch-size', '4', '--max-steps', '1', '--limit', '24', '--class', '9', '--class', '0', '--out', out], { engine, ...quiet });
    const path = join(out, 'checkpoints/latest.safetensors');
    const loaded = loadTrainingCheckpoint(path);
    expect(loaded.spec).toEqual(specOf('ganerator-2'));
    const { G, spec } = loadGenerator(engine, path);
    expect(spec).toEqual(specOf('ganerator-2'));
    expect(G.parameterCount()).toBe(104_881);
    G.dispose();
  });

  it('refuses a tampered or contradicting spec with one line naming the layer', async () => {
    const out = tmp();
    await train(['--model', 'ganerator-2', '--data', dataDir, '--batch-size', '4', '--max-steps', '1', '--limit', '24', '--class', '9', '--class', '0', '--out', out], { engine, ...quiet });
    const path = join(out, 'checkpoints/latest.safetensors');
    const { tensors, metadata } = readSafetensors(path);
    const spec = JSON.parse(metadata.model);
    const tamper = (edit: (s: any) => void): string => {
      const s = structuredClone(spec);
      edit(s);
      const file = join(out, `t${Math.random().toString(36).slice(2)}.safetensors`);
      writeSafetensors(file, tensors, { ...metadata, model: JSON.stringify(s) });
      return file;
    };
    const cases: [(s: any) => void, RegExp][] = [
      [(s) => { s.generator[6].type = 'conv3d'; }, /model spec generator layer 6 has unknown layer type "conv3d"/],
      [(s) => { s.generator[5].out = 71; s.generator[6].channels = 71; s.generator[8].in = 71; }, /tensor "generator\.5\.weight" has shape \[16, 70, 4, 4\], the model expects \[16, 71, 4, 4\]/],
      [(s) => { delete s.discriminator[0].kernel; }, /model spec discriminator layer 0 \(conv2d\) has no "kernel"/],
      [(s) => { s.generator[1].out = 10 ** 9; }, /model spec generator layer 1 \(linear\) field "out" is 1000000000: expected a whole number 1…100352/],
      [(s) => { s.discriminator[0].out = 2048; }, /model spec discriminator layer 3 \(conv2d\): its input is \[2048, 14, 14\], expected \[32, H, W\]/],
      [(s) => { delete s.training; }, /model spec has no "training"/],
      [(s) => { s.preset = 'dcgan'; }, /is the spec of preset "dcgan" but its config says --model ganerator-2/],
      [(s) => { s.conditional = { classes: 10 }; }, /model spec "conditional" has no "embedding" and the generator no conditionalBatchNorm2d layer: G would not see the class/],
      [(s) => { s.conditional = { classes: 10, embedding: 0 }; }, /model spec "conditional" field "embedding" is 0: expected/],
      [(s) => { s.conditional = { classes: 10, embedding: 50 }; }, /model spec generator \(input: z and the class embedding\) layer 1 \(linear\): its input is \[121\], expected \[71\]/],
    ];
    for (const [edit, message] of cases) {
      const file = tamper(edit);
      expect(() => loadTrainingCheckpoint(file)).toThrow(message);
      let line = '';
      try {
        loadTrainingCheckpoint(file);
      } catch (e) {
        line = (e as Error).message;
        expect((e as Error).name).toBe('CheckpointError');
      }
      expect(line).not.toContain('\n');
    }
    // The generator path (generate/evaluate/critic/export) checks the same way.
    expect(() => loadGenerator(engine, tamper((s) => { s.generator[6].type = 'conv3d'; }))).toThrow(/generator layer 6 has unknown layer type/);
    const deep = join(out, 'deep.safetensors');
    writeSafetensors(deep, tensors, { ...metadata, model: '['.repeat(100) + ']'.repeat(100) });
    expect(() => loadTrainingCheckpoint(deep)).toThrow(/nested more than 16 levels/);
  });

  it('validateSpec accepts every preset as written', () => {
    for (const p of PRESETS) {
      const s = p.spec({ latentDim: p.defaults.latentDim, ...sizes });
      expect(validateSpec(JSON.parse(JSON.stringify(s)), 'x')).toEqual(s);
      expect(generatorShapes(s).output).toEqual([1, 28, 28]);
    }
  });

  it('older files without a spec still load as the reference DCGAN and give the same images', async () => {
    for (const file of ['models/dcgan-fashion-mnist.safetensors', 'models/dcgan-ankle-boot.safetensors']) {
      expect(readSafetensors(file).metadata.model).toBeUndefined();
      const { G, spec } = loadGenerator(engine, file);
      expect(spec.preset).toBe('dcgan');
      G.dispose();
    }
  });
});
