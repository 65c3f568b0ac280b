// Class-conditional generation: conditional batchnorm in G (or, for a G without batchnorm, a class embedding
// concatenated to z) and a projection discriminator (Miyato & Koyama 2018). The lookup and the projection against
// float64 and finite differences, the GAN pattern on the projection D, a short conditional run writing every
// artifact with a bitwise-equal resume, the conditional spec's round trip through a checkpoint and tampered or
// contradicting conditional fields refused. Conditional batchnorm itself: conditional-batchnorm.test.ts.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Engine } from '../src/runtime/engine.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { writeTinyFashionMnist } from './tiny-fashion-mnist.js';
import { getEngine, randomArray, toGpu, expectClose, gradCheck } from './helpers.js';
import { train } from '../src/cli/train.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { Progress } from '../src/node/progress.js';
import { PRESETS, CONDITIONAL, DEFAULT_WIDTH } from '../src/gan/presets.js';
import { conditionalSpec, validateSpec, generatorShapes, discriminatorShapes, buildGeneratorOf, buildDiscriminatorOf, projectionFeatures } from '../src/gan/spec.js';
import { ConditionalGenerator, ProjectionDiscriminator, conditionalInput } from '../src/gan/network.js';
import { specOfConfig, DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { loadTrainingCheckpoint } from '../src/node/checkpoint-files.js';
import { loadGenerator } from '../src/node/load-generator.js';
import { Embedding, oneHot, oneHotRows } from '../src/nn/embedding.js';
import { Conv2d, BatchNorm2d, LeakyReLU, Flatten, Linear, inference } from '../src/nn/layers.js';
import { matmul } from '../src/tensor/ops/matmul.js';
import { mul, add } from '../src/tensor/ops/elementwise.js';
import { sum } from '../src/tensor/ops/reduce.js';
import { narrow } from '../src/tensor/ops/misc.js';
import { backward, tidy } from '../src/tensor/autograd.js';
import { randn, tensor, copyInto } from '../src/tensor/ops/create.js';
import { generateImages } from '../src/cli/generate.js';
import { exportGenerator } from '../src/cli/export-generator.js';
import { critic } from '../src/cli/critic.js';
import { evaluate } from '../src/cli/evaluate.js';
import { sample, samplePixels } from '../src/gan/sample.js';
import { imageGrid } from '../src/gan/images.js';
import { loadFashionMnist } from '../src/node/mnist-files.js';
import { loadClassifier } from '../src/gan/classifier.js';
import { classifyImages } from '../src/gan/features.js';
import { predictedClasses } from '../src/gan/quality.js';
import { conditionalAccuracy } from '../src/gan/evaluate.js';
import { Prng, permutation } from '../src/data/batches.js';

let engine: Engine;
let dataDir: string;
const quiet = { log: () => undefined, progress: new Progress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream, 1e9) };
const tmp = () => mkdtempSync(join(tmpdir(), 'atelier-cond-'));

beforeAll(async () => {
  engine = await getEngine();
  dataDir = tmp();
  writeTinyFashionMnist(dataDir, { train: 24, test: 20, seed: 13 });
});

const sizes = { ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH, spectralNorm: false };
const everyClass = Array.from({ length: 10 }, (_, c) => ['--class', String(c)]).flat();
const flags = (out: string) => ['--conditional', '--data', dataDir, '--batch-size', '8', '--seed', '4', '--epochs', '1', '--limit', '24', ...everyClass, '--out', out];

describe('the conditional spec', () => {
  it.each(PRESETS.map((p) => p.name))('%s: G takes the class by conditional batchnorm (or, without batchnorm, a 50-wide embedding), D gets a projection; it validates and runs', (name) => {
    const p = PRESETS.find((q) => q.name === name)!;
    const plain = p.spec({ latentDim: p.defaults.latentDim, ...sizes });
    const spec = conditionalSpec(plain, { ...CONDITIONAL });
    expect(CONDITIONAL).toEqual({ classes: 10, embedding: 50 });
    expect(validateSpec(JSON.parse(JSON.stringify(spec)), 'x')).toEqual(spec);
    const g = generatorShapes(spec);
    const d = discriminatorShapes(spec);
    const batchNorms = plain.generator.flatMap((l, i) => (l.type === 'batchNorm2d' ? [[i, l.channels]] : []));
    expect(batchNorms.length > 0, 'the presets with batchnorm in G').toBe(['dcgan', 'ganerator-1', 'ganerator-2'].includes(name));
    if (batchNorms.length > 0) {
      expect(spec.conditional).toEqual({ classes: 10 });
      expect(spec.generator.filter((l) => l.type === 'batchNorm2d')).toEqual([]);
      for (const [i, c] of batchNorms) {
        expect(spec.generator[i]).toMatchObject({ type: 'conditionalBatchNorm2d', channels: c, classes: 10 });
        expect(g.parameters).toContainEqual([`${i}.weight`, [10, c]]);
        expect(g.parameters).toContainEqual([`${i}.bias`, [10, c]]);
      }
      expect(g.parameters.map(([n]) => n)).not.toContain('embedding.weight');
    } else {
      expect(spec.conditional).toEqual({ classes: 10, embedding: 50 });
      expect(g.parameters).toContainEqual(['embedding.weight', [10, 50]]);
    }
    expect(d.parameters).toContainEqual(['projection.weight', [10, projectionFeatures(spec)]]);
    const G = buildGeneratorOf(engine, spec);
    const D = buildDiscriminatorOf(engine, spec);
    expect(G).toBeInstanceOf(ConditionalGenerator);
    expect(D).toBeInstanceOf(ProjectionDiscriminator);
    if (batchNorms.length === 0) expect(G.stateDict().get('embedding.weight')?.shape).toEqual([10, 50]);
    const z = randn(engine, [2, spec.latentDim, 1, 1]);
    const input = conditionalInput(engine, z, [3, 7], 10);
    const images = inference(engine, G, input);
    expect(images.shape).toEqual([2, 1, 28, 28]);
    const rows = oneHot(engine, [3, 7], 10);
    D.eval();
    const logits = tidy(engine, () => D.discriminate(images, rows));
    expect(logits.shape).toEqual([2, 1]);
    expect(() => D.forward(images)).toThrow(/needs the class of each image/);
    expect(() => G.forward(z)).toThrow(/expects \[z ; onehot\(y\)\]/);
    for (const t of [z, input, images, rows, logits]) t.dispose();
    G.dispose();
    D.dispose();
  });

  it('specOfConfig makes the preset conditional only with --conditional; an unconditional spec is unchanged', () => {
    const plain = specOfConfig(DEFAULT_GAN_CONFIG);
    expect(plain.conditional).toBeUndefined();
    expect(JSON.stringify(plain)).not.toContain('conditional');
    const cond = specOfConfig({ ...DEFAULT_GAN_CONFIG, conditional: true });
    expect(cond.conditional).toEqual({ classes: 10 });
    expect(cond.generator[0]).toMatchObject({ type: 'convTranspose2d', in: 100 });
    expect(cond.generator.filter((l) => l.type === 'conditionalBatchNorm2d').map((l) => l.type === 'conditionalBatchNorm2d' && l.channels)).toEqual([128, 64]);
    // dcgan's D ends conv(128→1, 7×7) then flatten: φ is [128, 7, 7]
    expect(projectionFeatures(cond)).toBe(128 * 49);
  });

  it('refuses a D that does not end in a weighted layer to one logit', () => {
    const spec = specOfConfig(DEFAULT_GAN_CONFIG);
    const odd = { ...spec, discriminator: [...spec.discriminator, { type: 'sigmoid' as const }] };
    expect(() => conditionalSpec(odd, { ...CONDITIONAL })).toThrow(/discriminator layer 7 \(sigmoid\): a projection discriminator \(conditional\) needs D to end in a linear or conv2d layer/);
  });
});

describe('the lookup and the projection', () => {
  it('narrow, the one-hot lookup and the projection term match finite differences', async () => {
    const labels = [2, 0, 2, 1];
    const rows = Float64Array.from(oneHotRows(labels, 3));
    await gradCheck(engine, (x) => narrow(x, 1, 2, 3), [{ data: randomArray(4 * 7 * 2, 1), shape: [4, 7, 2] }]);
    await gradCheck(engine, (w) => matmul(toGpu(engine, rows, [4, 3]), w), [{ data: randomArray(3 * 5, 2), shape: [3, 5] }]);
    // the projection as ProjectionDiscriminator computes it: the class's column of φ·E_Dᵀ
    await gradCheck(engine, (w, phi) => sum(mul(toGpu(engine, rows, [4, 3]), matmul(phi, w, { transposeB: true })), 1, true), [
      { data: randomArray(3 * 6, 3), shape: [3, 6] }, { data: randomArray(4 * 6, 4), shape: [4, 6] },
    ]);
  });

  it('G and D compute [z ; E_G[y]] → first layer and last(φ) + ⟨E_D[y], φ⟩, against float64', async () => {
    const [latent, classes, emb, b] = [3, 4, 2, 5];
    const labels = [3, 1, 0, 3, 2];
    const linear = new Linear(engine, latent + emb, 6);
    const G = new ConditionalGenerator(0, [Flatten(), linear], classes, latent, new Embedding(engine, classes, emb));
    const zData = randomArray(b * latent, 5);
    const z = toGpu(engine, zData, [b, latent, 1, 1]);
    const out = await inference(engine, G, conditionalInput(engine, z, labels, classes)).toArray();
    const [W, bias, E] = await Promise.all([linear.weight, linear.bias!, G.embedding!.weight].map((t) => t.toArray()));
    const expected = new Float64Array(b * 6);
    for (let i = 0; i < b; i++) {
      const x = [...zData.slice(i * latent, (i + 1) * latent), ...E.slice(labels[i] * emb, (labels[i] + 1) * emb)];
      for (let o = 0; o < 6; o++) expected[i * 6 + o] = bias[o] + x.reduce((s, v, k) => s + v * W[o * (latent + emb) + k], 0);
    }
    expectClose(out, expected, 1e-4, 1e-3, 'conditional G') // f32 sums of terms ~0.5: about 1e-7 off where they cancel;

    const head = new Linear(engine, 8, 1);
    const D = new ProjectionDiscriminator(0, [Flatten(), head], 1, new Embedding(engine, classes, 8));
    const xData = randomArray(b * 8, 6);
    const logits = await tidy(engine, () => D.discriminate(toGpu(engine, xData, [b, 2, 2, 2]), oneHot(engine, labels, classes))).toArray();
    const [Wd, bd, Ed] = await Promise.all([head.weight, head.bias!, D.projection.weight].map((t) => t.toArray()));
    const want = Float64Array.from({ length: b }, (_, i) => {
      let s = bd[0];
      for (let k = 0; k < 8; k++) s += xData[i * 8 + k] * (Wd[k] + Ed[labels[i] * 8 + k]);
      return s;
    });
    expectClose(logits, want, 1e-5, 1e-4, 'projection D');
    G.dispose();
    D.dispose();
  });

  it('the GAN pattern on the projection D (batchnorm inside φ): two forwards then one backward equal two separate passes', async () => {
    const build = () => {
      const conv = new Conv2d(engine, 1, 3, 3, { stride: 2, padding: 1, bias: false });
      return new ProjectionDiscriminator(0, [conv, new BatchNorm2d(engine, 3), LeakyReLU(0.2), Flatten(), new Linear(engine, 3 * 16, 1)], 4, new Embedding(engine, 10, 3 * 16));
    };
    const D = build();
    const initial = await Promise.all(D.parameters().map((t) => t.toArray()));
    const reset = () => {
      tidy(engine, () => D.parameters().forEach((t, i) => copyInto(t, tensor(engine, initial[i], t.shape))));
      for (const [, t] of D.namedBuffers()) tidy(engine, () => copyInto(t, tensor(engine, new Float32Array(t.size), t.shape)));
    };
    const x = [toGpu(engine, randomArray(4 * 64, 7), [4, 1, 8, 8]), toGpu(engine, randomArray(4 * 64, 8, -2, 1), [4, 1, 8, 8])];
    const rows = [oneHot(engine, [1, 5, 5, 9], 10), oneHot(engine, [0, 5, 2, 9], 10)];
    const grads = async () => {
      const out = await Promise.all(D.parameters().map((t) => t.grad!.toArray()));
      for (const t of D.parameters()) {
        t.grad!.dispose();
        t.grad = null;
      }
      return out;
    };
    reset();
    tidy(engine, () => backward(add(sum(D.discriminate(x[0], rows[0])), sum(mul(D.discriminate(x[1], rows[1]), toGpu(engine, [1, -2, 3, 0.5], [4, 1]))))));
    const joint = await grads();
    reset();
    tidy(engine, () => backward(sum(D.discriminate(x[0], rows[0]))));
    const first = await grads();
    tidy(engine, () => backward(sum(mul(D.discriminate(x[1], rows[1]), toGpu(engine, [1, -2, 3, 0.5], [4, 1])))));
    const second = await grads();
    const names = D.namedParameters().map(([n]) => n);
    expect(names).toContain('projection.weight');
    joint.forEach((g, i) => expectClose(g, first[i].map((v, j) => v + second[i][j]), 1e-5, 1e-4, names[i]));
    // the projection's gradient reaches only the classes asked for: rows 1, 5, 9 and 0, 2 (not 3, 4, 6, 7, 8)
    const proj = joint[names.indexOf('projection.weight')];
    for (const c of [3, 4, 6, 7, 8]) expect(proj.slice(c * 48, (c + 1) * 48).every((v) => v === 0), `class ${c}`).toBe(true);
    for (const c of [0, 1, 2, 5, 9]) expect(proj.slice(c * 48, (c + 1) * 48).some((v) => v !== 0), `class ${c}`).toBe(true);
    for (const t of [...x, ...rows]) t.dispose();
    D.dispose();
  });
});

describe('npm run train -- --conditional', () => {
  let whole: string;
  beforeAll(async () => {
    whole = tmp();
    await train(flags(whole), { engine, ...quiet });
  }, 600_000);

  it('writes every artifact, a 10-class × 8 grid, and resumes bitwise equal', async () => {
    for (const f of ['samples/epoch_001.png', 'loss.png', 'metrics.jsonl', 'checkpoints/latest.safetensors', 'checkpoints/epoch_001.safetensors']) {
      expect(existsSync(join(whole, f)), f).toBe(true);
    }
    const grid = PNG.sync.read(readFileSync(join(whole, 'samples/epoch_001.png')));
    expect([grid.width, grid.height]).toEqual([8 * 30 + 2, 10 * 30 + 2]);
    const parts = tmp();
    expect(await train([...flags(parts), '--max-steps', '2'], { engine, ...quiet })).toMatchObject({ steps: 2, stopped: true });
    expect(await train(['--resume', parts], { engine, ...quiet })).toMatchObject({ steps: 3, stopped: false });
    const a = readSafetensors(join(whole, 'checkpoints/latest.safetensors'));
    const b = readSafetensors(join(parts, 'checkpoints/latest.safetensors'));
    for (const name of ['discriminator.projection.weight', 'optimizer_d.v.projection.weight', 'fixed_labels']) {
      expect(Object.keys(a.tensors), name).toContain(name);
    }
    // conditional batchnorm's γ and β per class, and their Adam moments
    for (const name of ['generator.1.weight', 'generator.4.bias', 'optimizer_g.m.1.weight', 'optimizer_g.v.4.bias']) expect(a.tensors[name]?.shape, name).toEqual([10, name.includes('.1.') ? 128 : 64]);
    expect(Object.keys(a.tensors)).not.toContain('generator.embedding.weight');
    expect(a.tensors.fixed_z.shape).toEqual([80, 100, 1, 1]);
    expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
    for (const n of Object.keys(a.tensors)) expect(Buffer.from(b.tensors[n].data.buffer).equals(Buffer.from(a.tensors[n].data.buffer)), n).toBe(true);
    expect(Buffer.from(PNG.sync.read(readFileSync(join(parts, 'samples/epoch_001.png'))).data).equals(Buffer.from(grid.data))).toBe(true);
    expect(JSON.parse(a.metadata.config).conditional).toBe(true);
  }, 600_000);

  it('the conditional spec round-trips through the checkpoint, and loadGenerator builds it from the file alone', () => {
    const path = join(whole, 'checkpoints/latest.safetensors');
    const expected = specOfConfig({ ...DEFAULT_GAN_CONFIG, conditional: true });
    expect(loadTrainingCheckpoint(path).spec).toEqual(expected);
    const loaded = loadGenerator(engine, path);
    expect(loaded.spec).toEqual(expected);
    expect(loaded.G).toBeInstanceOf(ConditionalGenerator);
    loaded.G.dispose();
  });

  it('an unconditional run refuses --conditional on resume, and its config does not mention it', async () => {
    const plain = tmp();
    await train([...flags(plain).filter((f) => f !== '--conditional'), '--max-steps', '1'], { engine, ...quiet });
    const { metadata, tensors } = readSafetensors(join(plain, 'checkpoints/latest.safetensors'));
    expect(metadata.config).not.toContain('conditional');
    expect(metadata.model).not.toContain('conditional');
    expect(tensors.fixed_z.shape).toEqual([64, 100, 1, 1]);
    expect(Object.keys(tensors)).not.toContain('fixed_labels');
    await expect(train(['--resume', plain, '--conditional'], { engine, ...quiet })).rejects.toThrow(/--conditional true contradicts the checkpoint's false/);
  }, 600_000);

  it('refuses tampered or contradicting conditional fields with one line naming the field or tensor', () => {
    const path = join(whole, 'checkpoints/latest.safetensors');
    const { tensors, metadata } = readSafetensors(path);
    const spec = JSON.parse(metadata.model);
    const config = JSON.parse(metadata.config);
    let k = 0;
    const tamper = (edit: { spec?: (s: any) => void; config?: (c: any) => void; tensors?: (t: typeof tensors) => typeof tensors }): string => {
      const s = structuredClone(spec);
      const c = structuredClone(config);
      edit.spec?.(s);
      edit.config?.(c);
      const file = join(whole, `tampered-${k++}.safetensors`);
      writeSafetensors(file, edit.tensors ? edit.tensors({ ...tensors }) : tensors, { ...metadata, model: JSON.stringify(s), config: JSON.stringify(c) });
      return file;
    };
    const cases: [Parameters<typeof tamper>[0], RegExp][] = [
      [{ spec: (s) => { delete s.conditional; } }, /model spec generator layer 1 \(conditionalBatchNorm2d\): needs the class of each image, but the spec has no "conditional"/],
      [{ spec: (s) => { delete s.conditional; s.generator[1].type = 'batchNorm2d'; delete s.generator[1].classes; s.generator[4].type = 'batchNorm2d'; delete s.generator[4].classes; } }, /metadata "config" says --conditional but its metadata "model" is not class-conditional/],
      [{ config: (c) => { delete c.conditional; } }, /metadata "config" says no --conditional but its metadata "model" is class-conditional/],
      [{ spec: (s) => { s.conditional.embedding = 40; } }, /model spec generator \(input: z and the class embedding\) layer 0 \(convTranspose2d\): its input is \[140, 1, 1\], expected \[100, H, W\]/],
      [{ spec: (s) => { s.conditional.embedding = 40; s.generator[0].in = 140; } }, /tensor "generator\.0\.weight" has shape \[100, 128, 7, 7\], the model expects \[140, 128, 7, 7\]/],
      [{ spec: (s) => { s.generator[4].classes = 9; } }, /model spec generator layer 4 \(conditionalBatchNorm2d\) has 9 classes, "conditional" has 10/],
      [{ spec: (s) => { s.generator[1].classes = 0; } }, /model spec generator layer 1 \(conditionalBatchNorm2d\) field "classes" is 0: expected a whole number 1…1000/],
      [{ spec: (s) => { s.generator[1] = { type: 'batchNorm2d', channels: 128, momentum: 0.1, eps: 1e-5 }; s.generator[4] = { type: 'batchNorm2d', channels: 64, momentum: 0.1, eps: 1e-5 }; } }, /model spec "conditional" has no "embedding" and the generator no conditionalBatchNorm2d layer: G would not see the class/],
      [{ spec: (s) => { s.discriminator[3] = { type: 'conditionalBatchNorm2d', channels: 128, classes: 10, momentum: 0.1, eps: 1e-5 }; } }, /model spec discriminator layer 3 \(conditionalBatchNorm2d\): D takes the class through its projection alone/],
      [{ spec: (s) => { s.conditional.classes = 9; s.generator[1].classes = 9; s.generator[4].classes = 9; } }, /"conditional" has 9 classes, but training reads Fashion-MNIST's 10/],
      [{ spec: (s) => { s.conditional.classes = 0; } }, /model spec "conditional" field "classes" is 0: expected/],
      [{ spec: (s) => { s.conditional.classes = 10 ** 6; } }, /model spec "conditional" field "classes" is 1000000: expected \{"classes":1…1000/],
      [{ spec: (s) => { s.conditional.batchNorm = true; } }, /model spec "conditional" has unknown field "batchNorm"/],
      [{ spec: (s) => { s.conditional = 'yes'; } }, /model spec "conditional" is "yes"/],
      [{ tensors: (t) => { delete t['discriminator.projection.weight']; return t; } }, /"discriminator\.projection\.weight"/],
      [{ tensors: (t) => { const f = t.fixed_labels; t.fixed_labels = { ...f, data: f.data.map((v, i) => (i === 9 ? 4 : v)) }; return t; } }, /tensor "fixed_labels" holds 4 at 9, expected class 1/],
      [{ tensors: (t) => { delete t.fixed_labels; return t; } }, /"fixed_labels"/],
    ];
    for (const [edit, message] of cases) {
      const file = tamper(edit);
      let error: Error | undefined;
      try {
        loadTrainingCheckpoint(file);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message, String(message)).toMatch(message);
      expect(error?.name).toBe('CheckpointError');
      expect(error?.message).not.toContain('\n');
    }
    // The generator path checks the tensors against the file's spec: classes 9 contradicts γ's rows.
    expect(() => loadGenerator(engine, tamper({ spec: (s) => { s.conditional.classes = 9; s.generator[1].classes = 9; s.generator[4].classes = 9; } }))).toThrow(/tensor "generator\.1\.weight" has shape \[10, 128\], the model expects \[9, 128\]/);
  });
});

describe('sampling and generate --class from a conditional checkpoint', () => {
  let run: string;
  let plain: string;
  beforeAll(async () => {
    run = tmp();
    await train([...flags(run), '--max-steps', '2'], { engine, ...quiet });
    plain = tmp();
    await train([...flags(plain).filter((f) => f !== '--conditional'), '--max-steps', '1'], { engine, ...quiet });
  }, 600_000);
  const ckpt = (dir: string) => join(dir, 'checkpoints/latest.safetensors');

  it('loadGenerator gives classes; sample({ class }) makes that class, chunked or not; bad classes throw', async () => {
    const loaded = loadGenerator(engine, ckpt(run));
    expect(loaded.classes).toBe(10);
    const sneakers = await samplePixels(engine, loaded, { n: 6, seed: 2, class: 7 });
    const chunked = await samplePixels(engine, loaded, { n: 6, seed: 2, class: 7, chunk: 4 });
    expect(Buffer.from(chunked.pixels.buffer).equals(Buffer.from(sneakers.pixels.buffer))).toBe(true);
    const boots = await samplePixels(engine, loaded, { n: 6, seed: 2, class: 9 });
    expect(Buffer.from(boots.pixels.buffer).equals(Buffer.from(sneakers.pixels.buffer))).toBe(false);
    // labels per image, chunked: image i of class labels[i] equals the single-class call's image i
    const mixed = await samplePixels(engine, loaded, { n: 6, seed: 2, labels: [7, 9, 7, 9, 7, 9], chunk: 4 });
    for (let i = 0; i < 6; i++) {
      const want = (i % 2 ? boots : sneakers).pixels.subarray(i * 784, (i + 1) * 784);
      expectClose(mixed.pixels.subarray(i * 784, (i + 1) * 784), want, 1e-5, 1e-4, `image ${i}`);
    }
    await expect(sample(engine, loaded, { n: 2, class: 10 })).rejects.toThrow(/class 10 is not a class index 0…9/);
    await expect(sample(engine, loaded, { n: 2, class: 1.5 })).rejects.toThrow(/class 1.5 is not a class index/);
    loaded.G.dispose();
    const unconditional = loadGenerator(engine, ckpt(plain));
    expect(unconditional.classes).toBeUndefined();
    await expect(sample(engine, unconditional, { n: 2, class: 0 })).rejects.toThrow(/this generator is not class-conditional/);
    unconditional.G.dispose();
  });

  it('--class sneaker writes that class; --class all a 10-row grid; repeated --class splits; an unconditional file refuses --class', async () => {
    const out = tmp();
    const one = join(out, 'sneakers.png');
    await generateImages(['--checkpoint', ckpt(run), '--class', 'sneaker', '--n', '4', '--seed', '2', '--out', one], engine);
    const loaded = loadGenerator(engine, ckpt(run));
    const api = await samplePixels(engine, loaded, { n: 4, seed: 2, class: 7 });
    const grid = PNG.sync.read(readFileSync(one));
    const expected = imageGrid(api.pixels, 4, 28, 28, { cols: 2, pad: 2, range: [-1, 1] });
    expect([grid.width, grid.height]).toEqual([expected.width, expected.height]);
    const gray = Uint8Array.from({ length: grid.width * grid.height }, (_, i) => grid.data[4 * i]);
    expect(Buffer.from(gray).equals(Buffer.from(expected.pixels))).toBe(true);
    await generateImages(['--checkpoint', ckpt(run), '--class', '7', '--n', '4', '--seed', '2', '--out', join(out, 'seven.png')], engine);
    expect(readFileSync(join(out, 'seven.png')).equals(readFileSync(one))).toBe(true);

    await generateImages(['--checkpoint', ckpt(run), '--class', 'all', '--out', join(out, 'all.png'), '--interpolate', '3'], engine);
    const all = PNG.sync.read(readFileSync(join(out, 'all.png')));
    expect([all.width, all.height]).toEqual([8 * 30 + 2, 10 * 30 + 2]);
    // row r is class r, with the same 8 z in every row: sample({ n: 8, class: r }) at the same seed
    for (const r of [0, 9]) {
      const row = await samplePixels(engine, loaded, { n: 8, seed: 0, class: r });
      const tiles = imageGrid(row.pixels, 8, 28, 28, { cols: 8, pad: 2, range: [-1, 1] });
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < tiles.width; x++) expect(all.data[4 * ((r * 30 + 2 + y) * all.width + x)], `row ${r}`).toBe(tiles.pixels[(2 + y) * tiles.width + x]);
      }
    }
    const split = await generateImages(['--checkpoint', ckpt(run), '--class', 'sneaker', '--class', 'bag', '--n', '4', '--out', join(out, 'split.png')], engine);
    expect(existsSync(split.files[0])).toBe(true);
    // --checkpoint may name the run folder (its latest checkpoint), as train --resume does: the same grid.
    await generateImages(['--checkpoint', run, '--class', 'all', '--out', join(out, 'folder.png'), '--interpolate', '3'], engine);
    expect(readFileSync(join(out, 'folder.png')).equals(readFileSync(join(out, 'all.png')))).toBe(true);
    loaded.G.dispose();

    for (const [args, message] of [
      [['--checkpoint', ckpt(plain), '--class', 'sneaker'], /^--class sneaker: .* is not class-conditional \(trained without --conditional\); drop --class, or use a checkpoint trained with --conditional \(atelier train --conditional\)$/],
      [['--checkpoint', ckpt(run), '--class', 'boots'], /^--class boots: unknown class "boots"; valid classes are 0 t-shirt/],
      [['--checkpoint', ckpt(run), '--class', 'all', '--class', 'bag'], /^--class all makes every class; give it alone/],
      [['--checkpoint', ckpt(run), '--class', '12'], /^--class 12: unknown class "12"/],
    ] as [string[], RegExp][]) {
      const before = join(out, 'untouched.png');
      await expect(generateImages([...args, '--out', before], engine)).rejects.toThrow(message);
      expect(existsSync(before)).toBe(false);
    }
  });
});

describe('conditional accuracy', () => {
  const data = '/usr/share/datasets/fashion-mnist';
  const classifierFile = 'models/classifier.safetensors';
  it.skipIf(!existsSync(join(data, 't10k-labels-idx1-ubyte.gz')) || !existsSync(classifierFile))(
    'on real test images: 1 against the classifier\'s own predictions, its test accuracy against the true labels, chance for shuffled labels', async () => {
      const test = loadFashionMnist({ dir: data, split: 'test', limit: 2000 });
      const classifier = loadClassifier(engine, readSafetensors(classifierFile).tensors, classifierFile);
      const { logits } = await classifyImages(engine, classifier, test.images, test.count);
      classifier.dispose();
      const own = predictedClasses(logits, 10);
      expect(conditionalAccuracy(logits, own)).toBe(1);
      const truth = conditionalAccuracy(logits, test.labels);
      expect(truth).toBeGreaterThan(0.88);
      expect(truth).toBeLessThan(0.96);
      const shuffled = permutation(test.count, new Prng(5));
      const chance = conditionalAccuracy(logits, Array.from(shuffled, (i) => test.labels[i]));
      expect(chance).toBeGreaterThan(0.07);
      expect(chance).toBeLessThan(0.13);
      expect(() => conditionalAccuracy(logits, own.subarray(1))).toThrow(/2000 images but 1999 classes asked for/);
    }, 120_000);

  it.skipIf(!existsSync('models/classifier.safetensors'))('npm run evaluate on a conditional checkpoint adds conditional accuracy and per-class FID, precision, recall', async () => {
    const run = tmp();
    await train([...flags(run), '--max-steps', '1'], { engine, ...quiet });
    const json = join(run, 'eval.json');
    const { report, table } = await evaluate(['--checkpoint', join(run, 'checkpoints/latest.safetensors'), '--data', dataDir, '--n', '20', '--json', json], engine);
    const c = report.conditional!;
    expect(c.classes).toBe(10);
    expect(c.accuracy).toBeGreaterThanOrEqual(0);
    expect(c.accuracy).toBeLessThanOrEqual(1);
    expect(c.by_class.n).toEqual(Array(10).fill(2));
    for (const k of ['accuracy', 'fid', 'precision', 'recall'] as const) expect(c.by_class[k]).toHaveLength(10);
    expect(c.by_class.fid.every(Number.isFinite)).toBe(true);
    expect(table).toMatch(/conditional accuracy \(the classifier's class = the class asked for\): [\d.]+ over 20 images/);
    expect(table).toContain('ankle-boot');
    expect(JSON.parse(readFileSync(json, 'utf8')).conditional.by_class.n).toHaveLength(10);
  }, 600_000);
});

describe('export-generator and critic build the conditional model from the file alone', () => {
  it.skipIf(!existsSync('models/classifier.safetensors'))('export keeps the spec and the per-class batchnorm; generate --class reads the export; critic runs', async () => {
    const run = tmp();
    await train([...flags(run), '--max-steps', '1'], { engine, ...quiet });
    const exported = join(run, 'g.safetensors');
    exportGenerator(['--checkpoint', join(run, 'checkpoints/latest.safetensors'), '--out', exported]);
    const file = readSafetensors(exported);
    expect(JSON.parse(file.metadata.model).conditional).toEqual({ classes: 10 });
    expect(file.tensors['generator.1.weight'].shape).toEqual([10, 128]);
    await generateImages(['--checkpoint', exported, '--class', 'all', '--n', '10', '--out', join(run, 'all.png')], engine);
    const grid = PNG.sync.read(readFileSync(join(run, 'all.png')));
    expect([grid.width, grid.height]).toEqual([30 + 2, 10 * 30 + 2]);
    const { report } = await critic(['--checkpoint', exported, '--data', dataDir, '--steps', '2', '--batch-size', '4', '--n', '10'], engine, () => undefined, quiet.progress);
    expect(report).toBeDefined();
  }, 600_000);
});

describe('the shipped conditional generator', () => {
  const shipped = 'models/dcgan-conditional-fashion-mnist.safetensors';
  const classifierFile = 'models/classifier.safetensors';
  it('generate --class all on models/dcgan-conditional-fashion-mnist.safetensors writes 10 rows, each of the class asked for', async () => {
    const file = readSafetensors(shipped);
    expect(JSON.parse(file.metadata.model).conditional).toEqual({ classes: 10 });
    const out = join(tmp(), 'all.png');
    await generateImages(['--checkpoint', shipped, '--class', 'all', '--out', out], engine);
    const grid = PNG.sync.read(readFileSync(out));
    expect([grid.width, grid.height]).toEqual([8 * 30 + 2, 10 * 30 + 2]);
    // The grid's 80 tiles back to [-1, 1] images, row r asked for class r; the feature classifier names them.
    const images = new Float32Array(80 * 784);
    for (let t = 0; t < 80; t++) {
      const [r, c] = [Math.floor(t / 8), t % 8];
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) images[t * 784 + y * 28 + x] = (grid.data[4 * ((2 + r * 30 + y) * grid.width + 2 + c * 30 + x)] / 255) * 2 - 1;
      }
    }
    const classifier = loadClassifier(engine, readSafetensors(classifierFile).tensors, classifierFile);
    const { logits } = await classifyImages(engine, classifier, images, 80);
    classifier.dispose();
    const asked = Array.from({ length: 80 }, (_, t) => Math.floor(t / 8));
    // Its evaluation (models/dcgan-conditional-fashion-mnist.json) measured 0.920 over 10,000 images; these 80 tiles
    // are the grid's fixed z. A generator that ignored the class would score about 0.1.
    expect(conditionalAccuracy(logits, asked)).toBeGreaterThanOrEqual(0.75);
  }, 120_000);
});
