// Loading checkpoints into models: every tensor is checked against the architecture on the host before any GPU
// allocation (sizes capped as the flags cap them, non-finite values refused), and a resumed run trusts none of
// the checkpoint's stored config, RNG, batcher or epoch totals without checking them by the flags' rules.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from './helpers.js';
import { buildGenerator, buildDiscriminator, generatorStateShapes, discriminatorStateShapes, type StateShapes } from '../src/gan/models.js';
import { inspectGeneratorState, EMA_PREFIX } from '../src/gan/generator-state.js';
import { CheckpointError, type LoadedTensors } from '../src/gan/checkpoint.js';
import { writeSafetensors, type TensorEntry } from '../src/io/safetensors.js';
import { loadTrainingCheckpoint, CHECKPOINT_FORMAT } from '../src/node/checkpoint-files.js';
import { parseTrainOptions } from '../src/node/train-options.js';
import { validateStoredConfig } from '../src/node/stored-config.js';
import { cliErrorLine } from '../src/node/args.js';
import type { Module } from '../src/nn/module.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-ckload-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const all = (s: StateShapes) => [...s.parameters, ...s.buffers];
const filled = (shape: number[], seed: number) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + seed) * 0.1);
function record(prefix: string, shapes: [string, number[]][], seed = 1): Record<string, TensorEntry> {
  return Object.fromEntries(shapes.map(([n, shape], k) => [prefix + n, { dtype: 'F32', shape, data: filled(shape, seed + k) } as TensorEntry]));
}
/** The one-line message of what `f` throws (and that runCli would print it as one `error:` line). */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const line = cliErrorLine(e);
    expect(line, String(e)).toBeDefined();
    expect(line).not.toMatch(/\n/);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('state shapes known without building the model', () => {
  const names = (m: Module) => [...m.stateDict()].map(([n, t]) => [n, [...t.shape]]);
  it('match buildGenerator and buildDiscriminator for several sizes', async () => {
    const engine = await getEngine();
    for (const [latent, width] of [[3, 2], [100, 64], [7, 5]]) {
      const G = buildGenerator(engine, latent, width);
      expect(names(G)).toEqual(all(generatorStateShapes(latent, width)));
      G.dispose();
      for (const spectralNorm of [false, true]) {
        const D = buildDiscriminator(engine, width, { spectralNorm });
        expect(names(D)).toEqual(all(discriminatorStateShapes(width, { spectralNorm })));
        D.dispose();
      }
    }
  });
});

describe('a generator file is checked against the architecture before anything is built', () => {
  const good = () => record('generator.', all(generatorStateShapes(4, 3)));

  it('accepts a consistent file (and prefers the moving average unless trained)', () => {
    expect(inspectGeneratorState(good(), 'g', {})).toMatchObject({ latentDim: 4, width: 3, prefix: 'generator.', weights: 'trained' });
    const both = { ...good(), ...record(EMA_PREFIX, all(generatorStateShapes(4, 3)), 9) };
    expect(inspectGeneratorState(both, 'g', {})).toMatchObject({ prefix: EMA_PREFIX, weights: 'average' });
    expect(inspectGeneratorState(both, 'g', { trained: true })).toMatchObject({ prefix: 'generator.' });
  });

  it('refuses a first layer whose size is past the flag caps, before looking further (no 8.6 GB model)', () => {
    for (const [shape, message] of [
      [[1, 16384, 7, 7], /gives ngf 8192, more than the 1024 that --ngf allows/],
      [[1, 2050, 7, 7], /gives ngf 1025, more than the 1024/],
      [[5000, 2, 7, 7], /gives a latent size of 5000, more than the 4096 that --latent-dim allows/],
      [[2 ** 40, 2, 7, 7], /latent size of 1099511627776/],
    ] as const) {
      // only the first tensor's header matters: the data is never looked at
      const tensors: LoadedTensors = { 'generator.0.weight': { dtype: 'F32', shape: [...shape], data: new Float32Array(1) } };
      expect(refusal(() => inspectGeneratorState(tensors, 'huge.safetensors'))).toMatch(message);
    }
  });

  it('refuses first layers that are not [latentDim, 2·ngf, 7, 7]', () => {
    for (const shape of [[4, 6, 7], [4, 6, 7, 8], [4, 5, 7, 7], [0, 6, 7, 7], [4, 0, 7, 7], [4, 6, 7, 7, 1], []]) {
      const tensors: LoadedTensors = { 'generator.0.weight': { dtype: 'F32', shape, data: new Float32Array(0) } };
      expect(refusal(() => inspectGeneratorState(tensors, 'g.safetensors'))).toMatch(/^g\.safetensors: tensor "generator\.0\.weight" has shape \[.*\], expected \[latentDim, 2·ngf, 7, 7\]/);
    }
  });

  it('refuses a missing, extra, mistyped or misshapen tensor anywhere, naming it', () => {
    const cases: [(t: Record<string, TensorEntry>) => void, RegExp][] = [
      [(t) => delete t['generator.4.running_var'], /tensor "generator\.4\.running_var" is missing/],
      [(t) => delete t['generator.0.weight'], /tensor "generator\.0\.weight" is missing — is this an atelier DCGAN checkpoint/],
      [(t) => { t['generator.7.weight'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) }; }, /unexpected tensor "generator\.7\.weight"/],
      [(t) => { t['generator.3.weight'] = { dtype: 'F64', shape: [6, 3, 4, 4], data: new Float64Array(288) }; }, /tensor "generator\.3\.weight" has dtype F64, expected F32/],
      [(t) => { t['generator.6.weight'] = { dtype: 'F32', shape: [3, 1, 4, 5], data: new Float32Array(60) }; }, /tensor "generator\.6\.weight" has shape \[3, 1, 4, 5\], the model expects \[3, 1, 4, 4\]/],
      [(t) => { t['generator.1.bias'] = { dtype: 'F32', shape: [6, 1], data: new Float32Array(6) }; }, /"generator\.1\.bias" has shape \[6, 1\], the model expects \[6\]/],
    ];
    for (const [mutate, message] of cases) {
      const t = good();
      mutate(t);
      expect(refusal(() => inspectGeneratorState(t, 'g.safetensors'))).toMatch(message);
    }
  });

  it('refuses NaN and ±Inf, naming the tensor and the first bad index', () => {
    for (const [name, index, value, at] of [
      ['generator.0.weight', 0, NaN, '[0, 0, 0, 0]'],
      ['generator.0.weight', 4 * 6 * 49 - 1, Infinity, '[3, 5, 6, 6]'],
      ['generator.3.weight', 17, -Infinity, '[0, 1, 0, 1]'],
      ['generator.4.running_var', 2, NaN, '[2]'],
    ] as const) {
      const t = good();
      const data = t[name].data as Float32Array;
      data[index] = value;
      data[data.length - 1] = NaN; // a later bad value: the first is reported
      if (index === data.length - 1) data[index] = value;
      expect(refusal(() => inspectGeneratorState(t, 'nan.safetensors'))).toMatch(
        new RegExp(`^nan\\.safetensors: tensor "${name.replace(/\./g, '\\.')}" holds ${String(value).replace('+', '')} at index ${index} \\(\\${at.slice(0, -1)}\\]\\)`));
    }
  });
});

describe('resume checks everything a training checkpoint stores', () => {
  const argv = ['--batch-size', '8', '--latent-dim', '3', '--ngf', '2', '--ndf', '3', '--ema', '0.9', '--epochs', '2'];
  const { given: _g, out: _o, resume: _r, ...config } = parseTrainOptions(argv);
  const G = all(generatorStateShapes(3, 2));
  const D = discriminatorStateShapes(3);
  const adam = (params: [string, number[]][]) => params.flatMap(([n, s]) => [[`m.${n}`, s], [`v.${n}`, s]] as [string, number[]][]);
  const tensors = {
    ...record('generator.', G, 1), ...record('discriminator.', all(D), 2), ...record(EMA_PREFIX, G, 3),
    ...record('optimizer_g.', adam(generatorStateShapes(3, 2).parameters), 4), ...record('optimizer_d.', adam(D.parameters), 5),
    fixed_z: { dtype: 'F32', shape: [64, 3, 1, 1], data: filled([64, 3], 6) } as TensorEntry,
  };
  const metadata = {
    format: CHECKPOINT_FORMAT, config: JSON.stringify(config), step: '12', epochs_done: '1', optimizer_g_step: '12', optimizer_d_step: '12',
    rng: JSON.stringify({ seed: 5, counter: 77 }), batcher: JSON.stringify({ seed: 0, epoch: 1, batch: 2, count: 40, batchSize: 8, shuffle: true }),
    epoch_totals: JSON.stringify({ lossD: 1.5, lossG: 2, dReal: 0.5, dFake: 0.25, steps: 2, seconds: 0.5 }),
  };
  let n = 0;
  const write = (meta: Record<string, string>, t: Record<string, TensorEntry> = tensors) => {
    const path = join(dir, `ck${n++}.safetensors`);
    writeSafetensors(path, t, meta);
    return path;
  };

  it('loads a consistent checkpoint, with the options it was trained with', () => {
    const loaded = loadTrainingCheckpoint(write(metadata));
    expect(loaded.options).toEqual(config);
  });

  it('refuses null, wrong types and out-of-range values in config, rng, batcher and epoch_totals, naming the file and field', () => {
    const withConfig = (patch: Record<string, unknown>) => ({ ...metadata, config: JSON.stringify({ ...config, ...patch }) });
    const cases: [Record<string, string>, RegExp][] = [
      [{ ...metadata, config: 'null' }, /metadata "config" is null, not an object of training options/],
      [{ ...metadata, config: '[1]' }, /metadata "config" is \[1\], not an object/],
      [{ ...metadata, config: '{' }, /metadata "config" is missing or not valid JSON/],
      [{ ...metadata, rng: 'null' }, /metadata "rng" is null, not an object/],
      [{ ...metadata, rng: '{}' }, /metadata "rng" field "seed" is undefined, not a whole number 0…2\^32−1/],
      [{ ...metadata, rng: '{"seed":1,"counter":-1}' }, /metadata "rng" field "counter" is -1/],
      [{ ...metadata, rng: '{"seed":1.5,"counter":1}' }, /"rng" field "seed" is 1\.5/],
      [{ ...metadata, epoch_totals: 'null' }, /metadata "epoch_totals" is null, not an object/],
      [{ ...metadata, epoch_totals: '{"lossD":"x","lossG":0,"dReal":0,"dFake":0,"steps":0,"seconds":0}' }, /"epoch_totals" field "lossD" is "x", not a finite number/],
      [{ ...metadata, epoch_totals: '{"lossD":0,"lossG":0,"dReal":0,"dFake":0,"steps":-2,"seconds":0}' }, /"epoch_totals" field "steps" is -2/],
      [{ ...metadata, batcher: '7' }, /metadata "batcher" is 7, not an object/],
      [{ ...metadata, batcher: '{"seed":0,"epoch":0,"batch":0,"count":40,"batchSize":16,"shuffle":true}' }, /"batcher" field "batchSize" is 16, not the config's batch size 8/],
      [{ ...metadata, batcher: '{"seed":0,"epoch":0,"batch":0,"count":40,"batchSize":8,"shuffle":"yes"}' }, /"batcher" field "shuffle" is "yes"/],
      [{ ...metadata, step: '' }, /metadata "step" is "", not a whole number/],
      [{ ...metadata, step: '-1' }, /metadata "step" is "-1"/],
      [{ ...metadata, optimizer_g_step: '1e3' }, /metadata "optimizer_g_step" is "1e3"/],
      [withConfig({ lrD: -1 }), /metadata "config" field "lrD" is -1: must be greater than 0 \(the rule of --lr-d\)/],
      [withConfig({ lrG: 2 }), /field "lrG" is 2: must be at most 1 \(the rule of --lr-g\)/],
      [withConfig({ ngf: 20000 }), /field "ngf" is 20000: must be at most 1024 \(the rule of --ngf\)/],
      [withConfig({ ndf: 0 }), /field "ndf" is 0: must be at least 1/],
      [withConfig({ epochs: 'x' }), /field "epochs" is "x": is not a number \(the rule of --epochs\)/],
      [withConfig({ epochs: 1.5 }), /field "epochs" is 1\.5: must be a whole number/],
      [withConfig({ batchSize: null }), /field "batchSize" is null: is not a number/],
      [withConfig({ beta1: 1 }), /field "beta1" is 1: must be less than 1/],
      [withConfig({ latentDim: 1e9 }), /field "latentDim" is 1000000000: must be at most 4096/],
      [withConfig({ seed: -3 }), /field "seed" is -3: must be at least 0/],
      [withConfig({ loss: 'wgan' }), /field "loss" is "wgan": unknown loss; use one of bce, hinge, rpgan/],
      [withConfig({ spectralNorm: 'yes' }), /field "spectralNorm" is "yes": is not true or false/],
      [withConfig({ classes: 'bag' }), /field "classes" is "bag": is not a list of strings/],
      [withConfig({ classes: ['boots'] }), /field "classes" is \["boots"\]: unknown class "boots"/],
      [withConfig({ decayEpochs: 5 }), /metadata "config" is inconsistent: --decay-epochs 5 is more than --epochs 2/],
      [withConfig({ seed: undefined }), /metadata "config" has no "seed" \(--seed\)/],
      [withConfig({ evalN: 1 }), /field "evalN" is 1: must be at least 2/],
    ];
    for (const [meta, message] of cases) {
      const path = write(meta);
      const m = refusal(() => loadTrainingCheckpoint(path));
      expect(m, JSON.stringify(meta).slice(0, 200)).toMatch(message);
      expect(m.startsWith(`${path}: `)).toBe(true);
    }
  });

  it('refuses tensors that do not fit the stored architecture or hold NaN, before anything is built', () => {
    const cases: [Record<string, TensorEntry>, RegExp][] = [
      [{ ...tensors, 'discriminator.0.weight': { dtype: 'F32', shape: [3, 1, 4, 5], data: new Float32Array(60) } }, /"discriminator\.0\.weight" has shape \[3, 1, 4, 5\], the model expects \[3, 1, 4, 4\]/],
      [{ ...tensors, fixed_z: { dtype: 'F32', shape: [64, 4, 1, 1], data: new Float32Array(256) } }, /"fixed_z" has shape \[64, 4, 1, 1\]/],
      [{ ...tensors, 'optimizer_d.v.3.weight': { dtype: 'F32', shape: [6], data: Float32Array.from([0, 0, 0, Infinity, 0, 0]) } }, /"optimizer_d\.v\.3\.weight" holds Infinity at index 3/],
      [(() => { const t = { ...tensors }; delete t['generator_ema.6.weight']; return t; })(), /"generator_ema\.6\.weight" is missing/],
      [{ ...tensors, 'discriminator.0.weight_u': { dtype: 'F32', shape: [3, 1], data: new Float32Array(3) } }, /unexpected tensor "discriminator\.0\.weight_u"/],
    ];
    for (const [t, message] of cases) expect(refusal(() => loadTrainingCheckpoint(write(metadata, t)))).toMatch(message);
  });

  it('validateStoredConfig takes defaults for the fields older checkpoints lack', () => {
    const old = { epochs: 20, batchSize: 128, lrG: 0.0002, lrD: 0.0002, beta1: 0.5, beta2: 0.999, latentDim: 100, realLabel: 0.9, seed: 0, classes: ['ankle-boot'], data: '/d', sampleEvery: 0, logEvery: 0 };
    expect(validateStoredConfig(old, 'old')).toMatchObject({ ...old, ngf: 64, ndf: 64, spectralNorm: false, loss: 'bce', ema: 0, decayEpochs: 0 });
    expect(() => validateStoredConfig(old, 'x')).not.toThrow(CheckpointError);
  });
});
