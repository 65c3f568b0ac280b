// Browser-safe model I/O: Module.readStateDict/loadStateDict, loadGenerator from bytes, a Response and a URL,
// sample() (the CLI's generate makes the same pixels), toImageData and drawToCanvas.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine } from './helpers.js';
import {
  buildGenerator, decodeSafetensors, encodeSafetensors, loadGenerator, sample, samplePixels, toImageData, drawToCanvas,
  CheckpointError, SafetensorsError, type Images, type ImageDataLike,
} from '../src/index.js';
import { loadGenerator as loadGeneratorFile } from '../src/node/load-generator.js';

const MODEL = 'models/dcgan-fashion-mnist.safetensors';
let engine: Engine;
let server: Server;
let base: string;
const bytes = readFileSync(MODEL);

beforeAll(async () => {
  engine = await getEngine();
  server = createServer((req, res) => {
    res.setHeader('Connection', 'close'); // no idle keep-alive socket for fetch to reuse after the server drops it
    if (req.url === '/g.safetensors') res.end(bytes);
    else res.writeHead(404, 'Not Found').end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe('Module.readStateDict / loadStateDict', () => {
  it('round-trips through safetensors bytes under a prefix', async () => {
    const a = buildGenerator(engine, 8, 4);
    const b = buildGenerator(engine, 8, 4);
    try {
      const record = await a.readStateDict({ prefix: 'generator.' });
      expect(Object.keys(record)).toContain('generator.0.weight');
      expect(Object.keys(record)).toContain('generator.1.running_var');
      const decoded = decodeSafetensors(encodeSafetensors(record)).tensors;
      expect(b.loadStateDict(decoded, { prefix: 'generator.' })).toBe(b);
      const back = await b.readStateDict();
      for (const [name, t] of Object.entries(await a.readStateDict())) expect(back[name].data, name).toEqual(t.data);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('checks every tensor before writing any: missing, wrong shape, extra, non-finite', async () => {
    const a = buildGenerator(engine, 8, 4);
    try {
      const good = await a.readStateDict();
      const before = await a.readStateDict();
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['missing', (() => { const r = { ...good }; delete r['4.running_mean']; return r; })(), /^f\.bin: tensor "4\.running_mean" is missing$/],
        ['shape', { ...good, '0.weight': { dtype: 'F32', shape: [8, 8, 7, 6], data: new Float32Array(8 * 8 * 42) } }, /tensor "0\.weight" has shape \[8, 8, 7, 6\], the model expects \[8, 8, 7, 7\]/],
        ['extra', { ...good, '9.weight': good['0.weight'] }, /unexpected tensor "9\.weight"/],
        ['NaN', { ...good, '1.weight': { ...good['1.weight'], data: new Float32Array(good['1.weight'].data.length).fill(Number.NaN) } }, /tensor "1\.weight" holds NaN at index 0/],
      ];
      // '0.weight' is the first tensor written: a later bad one must leave it as it was
      const changed = { ...good['0.weight'], data: good['0.weight'].data.map((x) => x + 1) };
      for (const [what, record, message] of cases) {
        const withChange = what === 'shape' ? record : { ...record, '0.weight': changed };
        expect(() => a.loadStateDict(withChange as never, { source: 'f.bin' }), what).toThrow(CheckpointError);
        expect(() => a.loadStateDict(withChange as never, { source: 'f.bin' }), what).toThrow(message);
      }
      expect((await a.readStateDict())['0.weight'].data).toEqual(before['0.weight'].data);
    } finally {
      a.dispose();
    }
  });
});

describe('loadGenerator (core) and sample', () => {
  it('loads from bytes, an ArrayBuffer, a Response and a URL, the same weights as the Node file reader', async () => {
    const fromFile = loadGeneratorFile(engine, MODEL);
    const want = await fromFile.G.readStateDict();
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const sources = [new Uint8Array(bytes), copy, new Response(bytes), new URL('/g.safetensors', base), `${base}/g.safetensors`];
    try {
      for (const source of sources) {
        const loaded = await loadGenerator(engine, source);
        try {
          expect([loaded.latentDim, loaded.width, loaded.weights]).toEqual([fromFile.latentDim, fromFile.width, fromFile.weights]);
          const got = await loaded.G.readStateDict();
          expect(got['0.weight'].data).toEqual(want['0.weight'].data);
        } finally {
          loaded.G.dispose();
        }
      }
    } finally {
      fromFile.G.dispose();
    }
  });

  it('names the URL on an HTTP error and the source on bytes that are not a generator', async () => {
    await expect(loadGenerator(engine, `${base}/missing.safetensors`)).rejects.toThrow(`${base}/missing.safetensors: HTTP 404 Not Found; check the URL`);
    await expect(loadGenerator(engine, new Uint8Array([1, 2, 3]), { name: 'drop.safetensors' })).rejects.toThrow(SafetensorsError);
    await expect(loadGenerator(engine, new Uint8Array([1, 2, 3]), { name: 'drop.safetensors' })).rejects.toThrow(/^drop\.safetensors: /);
    const notG = encodeSafetensors({ 'classifier.0.weight': { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
    await expect(loadGenerator(engine, notG)).rejects.toThrow(/^generator: tensor "generator\.0\.weight" is missing/);
  });

  it('sample() is the CLI pixels mapped to [0, 1], the same for a seed, and checks its options', async () => {
    const loaded = await loadGenerator(engine, bytes);
    try {
      const images = await sample(engine, loaded, { n: 5, seed: 1, temperature: 0.8 });
      expect([images.count, images.channels, images.height, images.width]).toEqual([5, 1, 28, 28]);
      const raw = await samplePixels(engine, loaded.G, { n: 5, seed: 1, temperature: 0.8, chunk: 2 });
      let worst = 0;
      for (let i = 0; i < raw.pixels.length; i++) worst = Math.max(worst, Math.abs(images.data[i] - (raw.pixels[i] + 1) / 2));
      expect(worst).toBeLessThan(1e-6);
      expect(Math.min(...images.data)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...images.data)).toBeLessThanOrEqual(1);
      const other = await sample(engine, loaded, { n: 5, seed: 2, temperature: 0.8 });
      expect(other.data).not.toEqual(images.data);
      await expect(sample(engine, loaded, { class: 3 })).rejects.toThrow('sample: class 3 was asked for, but this generator is not class-conditional; leave out `class`');
      for (const [bad, message] of [[{ n: 0 }, /n must be/], [{ n: 2.5 }, /n must be/], [{ seed: -1 }, /seed must be/], [{ temperature: 0 }, /temperature must be/]] as const) {
        await expect(sample(engine, loaded, bad)).rejects.toThrow(message);
      }
    } finally {
      loaded.G.dispose();
    }
  });
});

describe('toImageData / drawToCanvas', () => {
  const images: Images = { data: Float32Array.from([0, 0.5, 1, 2, -1, Number.NaN, 0.25, 0.75]), count: 2, channels: 1, height: 2, width: 2 };

  it('tiles gray RGBA with padding, clamping, NaN black and opaque alpha', () => {
    const im = toImageData(images, { cols: 2, pad: 1 });
    expect([im.width, im.height]).toEqual([7, 4]);
    const gray = (x: number, y: number) => [...im.data.subarray(4 * (y * im.width + x), 4 * (y * im.width + x) + 4)];
    expect(gray(1, 1)).toEqual([0, 0, 0, 255]);
    expect(gray(2, 1)).toEqual([128, 128, 128, 255]);
    expect(gray(1, 2)).toEqual([255, 255, 255, 255]);
    expect(gray(2, 2)).toEqual([255, 255, 255, 255]); // 2 clamped
    expect(gray(4, 1)).toEqual([0, 0, 0, 255]); // −1 clamped
    expect(gray(5, 1)).toEqual([0, 0, 0, 255]); // NaN
    expect(gray(4, 2)).toEqual([64, 64, 64, 255]);
    expect(gray(5, 2)).toEqual([191, 191, 191, 255]);
    expect(gray(0, 0)).toEqual([0, 0, 0, 255]);
    expect(im.data).toBeInstanceOf(Uint8ClampedArray);
    expect(() => toImageData({ ...images, channels: 3 })).toThrow(/single-channel/);
  });

  it('draws on a canvas sized to the grid; refuses a canvas without a 2d context', () => {
    const drawn: [ImageDataLike, number, number][] = [];
    const canvas = { width: 0, height: 0, getContext: () => ({ putImageData: (im: ImageDataLike, x: number, y: number) => drawn.push([im, x, y]) }) };
    const im = drawToCanvas(canvas, images, { cols: 1, pad: 0 });
    expect([canvas.width, canvas.height, im.width, im.height]).toEqual([2, 4, 2, 4]);
    expect(drawn).toEqual([[im, 0, 0]]);
    expect(() => drawToCanvas({ width: 0, height: 0, getContext: () => null }, images)).toThrow(/no 2d context/);
  });
});
