// The studio page in Debian's Chromium (playwright-core; its WebGPU runs on SwiftShader here), served by the studio server from
// this checkout: the Sample view's pixels against Node's for the same seed, the host's own WebGPU error staying
// the host's, a few training steps in the tab with pause, resume and a checkpoint that Node's generate and
// train --resume read, the run view drawing and refreshing a fixture run's curves, and the page without WebGPU.
// The server's refusals (paths out of its folders, writes) are checked without a browser.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { startStudio } from '../src/cli/studio.js';
import { encodePng } from '../src/io/png.js';
import { createNodeEngine } from '../src/node/gpu.js';
import { loadGenerator } from '../src/node/load-generator.js';
import { sample } from '../src/gan/sample.js';
import { toImageData } from '../src/gan/images.js';
import { fetchFashionMnist } from '../src/data/fetch-mnist.js';
import { loadFashionMnist } from '../src/node/mnist-files.js';
import { decodeSafetensors } from '../src/data/safetensors-format.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const root = process.cwd();
const tsc = (...args: string[]) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });

/** Largest |page − Node| allowed, for sample()'s floats in [0, 1] and for the canvas's bytes (0–255). */
const FLOAT_TOLERANCE = 2e-3;
const BYTE_TOLERANCE = 1;

let tmp: string;
const conditionalCheckpoint = () => join(tmp, 'tab-conditional.safetensors');
let server: Server;
let url = '';

/** An IDX file: magic 0x0000080N, big-endian dims, u8 data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x800 | dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** 200 28×28 images (a blob whose place and size follow the label) with labels i mod 10, gzipped as Fashion-MNIST ships. */
function writeTinyData(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const n = 200;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const images = new Uint8Array(n * 784);
  for (let i = 0; i < n; i++) {
    const cx = 8 + labels[i] + (i % 3), cy = 14 - (i % 5), r = 4 + (labels[i] % 4);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) images[i * 784 + y * 28 + x] = (x - cx) ** 2 + (y - cy) ** 2 < r * r ? 220 : 10;
  }
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([n], labels)));
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([n, 28, 28], images)));
}

const epochLine = (epoch: number) => JSON.stringify({
  kind: 'epoch', epoch, step: epoch * 50, loss_d: 1.3 - 0.1 * epoch, loss_g: 0.8 + 0.1 * epoch, d_real: 0.6, d_fake: 0.4, images_per_s: 100, seconds: 64,
}) + '\n';

/** A run folder as `npm run train` leaves it: metrics.jsonl with three epochs, one sample grid, a checkpoint. */
function writeFixtureRun(dir: string): void {
  mkdirSync(join(dir, 'samples'), { recursive: true });
  writeFileSync(join(dir, 'metrics.jsonl'), [1, 2, 3].map(epochLine).join(''));
  const gray = Uint8Array.from({ length: 30 * 30 }, (_, i) => (i * 7) % 256);
  writeFileSync(join(dir, 'samples', 'epoch_003.png'), encodePng(30, 30, gray));
}

/** A raw GET (no URL normalising, unlike fetch): status and body. */
function rawGet(path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'atelier-studio-'));
  writeTinyData(join(tmp, 'data'));
  writeFixtureRun(join(tmp, 'runs', 'fixture-run'));
  mkdirSync(join(tmp, 'runs', 'empty-folder'));
  writeFileSync(join(tmp, 'secret.txt'), 'outside');
  symlinkSync(join(tmp, 'secret.txt'), join(tmp, 'runs', 'fixture-run', 'link-out.txt'));
  tsc('-p', '.');
  tsc('-p', 'studio');
  ({ server, url } = await startStudio({ port: 0, runs: join(tmp, 'runs'), data: join(tmp, 'data'), root }));
}, 240_000);

afterAll(() => {
  server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the studio server', () => {
  it('serves the page, the core, the shipped generators, the data and the runs, and lists generators only', async () => {
    expect((await rawGet('/studio/')).body).toContain('atelier studio');
    expect((await rawGet('/studio/js/main.js')).status).toBe(200);
    expect((await rawGet('/dist/src/index.js')).status).toBe(200);
    expect((await rawGet('/data/train-labels-idx1-ubyte.gz')).status).toBe(200);
    expect((await rawGet('/runs/fixture-run/metrics.jsonl')).body).toContain('"epoch":3');
    const models = JSON.parse((await rawGet('/api/models')).body) as { name: string }[];
    expect(models.map((m) => m.name)).toContain('dcgan-fashion-mnist.safetensors');
    expect(models.map((m) => m.name)).not.toContain('classifier.safetensors');
    const runs = JSON.parse((await rawGet('/api/runs')).body) as { runs: { name: string }[] };
    expect(runs.runs.map((r) => r.name)).toEqual(['fixture-run']);
  });

  it('refuses paths that leave their folder (.., encoded .., a symlink out), other files, and writes', async () => {
    // ../ and %2e%2e are resolved away by URL parsing (then not found); an encoded slash and a symlink out are refused.
    for (const path of ['/runs/../secret.txt', '/runs/fixture-run/../../secret.txt', '/runs/%2e%2e/secret.txt']) {
      const { status, body } = await rawGet(path);
      expect(status, path).toBe(404);
      expect(body).not.toContain('outside');
    }
    for (const path of ['/runs/fixture-run/..%2f..%2fsecret.txt', '/runs/..%2fsecret.txt', '/runs/fixture-run/link-out.txt', '/api/runs/..%2f..']) {
      const { status, body } = await rawGet(path);
      expect(status, path).toBe(403);
      expect(body).not.toContain('outside');
    }
    for (const path of ['/dist/src/../../package.json', '/models/classifier.json', '/data/secret.txt', '/studio/js/../../../package.json', '/dist/bench/index.js']) {
      expect((await rawGet(path)).status, path).not.toBe(200);
    }
    expect((await rawGet('/runs/fixture-run/metrics.jsonl', 'PUT')).status).toBe(405);
  });
});

describe('Fashion-MNIST over HTTP (fetchFashionMnist)', () => {
  it('gunzips with DecompressionStream and selects the same images as the disk loader', async () => {
    for (const selection of [{ classes: [3], limit: 7 }, { classes: ['ankle-boot', 'coat'], limit: undefined }, { classes: undefined, limit: 50 }]) {
      const fetched = await fetchFashionMnist(`${url}data/`, { split: 'train', ...selection });
      const read = loadFashionMnist({ dir: join(tmp, 'data'), split: 'train', ...selection });
      expect([fetched.count, fetched.height, fetched.width, fetched.classes]).toEqual([read.count, read.height, read.width, read.classes]);
      expect(fetched.images).toEqual(read.images);
      expect(fetched.labels).toEqual(read.labels);
    }
  });

  it('names the URL and the fix for a missing file, a corrupt gzip and a wrong file', async () => {
    await expect(fetchFashionMnist(`${url}data/`, { split: 'test' })).rejects.toThrow(/t10k-labels-idx1-ubyte: HTTP 404 .*serve t10k-labels-idx1-ubyte\[\.gz\]/);
    const bad = (body: Uint8Array) => async () => new Response(body);
    await expect(fetchFashionMnist('http://x/', { split: 'train', fetch: bad(Uint8Array.of(0x1f, 0x8b, 1, 2, 3)) })).rejects.toThrow(/^http:\/\/x\/train-labels-idx1-ubyte\.gz: not a valid gzip stream/);
    await expect(fetchFashionMnist('http://x/', { split: 'train', fetch: bad(idx([2, 2], new Uint8Array(4))) })).rejects.toThrow(/wrong magic number/);
  });
});

describe.skipIf(!hasChromium)('the studio page in Chromium', () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--enable-unsafe-webgpu'],
    });
    page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.waitForFunction('window.studio && window.studio.ready', undefined, { timeout: 60_000 });
    await page.evaluate('window.studio.ready');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('samples the shipped generator on load; its pixels equal Node sample() for the same seed', async () => {
    const result = (await page.evaluate(`(() => {
      const s = window.studio;
      const canvas = document.getElementById('s-grid');
      const bytes = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      return { error: s.gpuError, data: Array.from(s.sample.last.data), bytes: Array.from(bytes), width: canvas.width, height: canvas.height,
        status: document.getElementById('s-status').textContent, firstImage: s.timings.firstImage, gpuReady: s.timings.gpuReady };
    })()`)) as { error?: string; data: number[]; bytes: number[]; width: number; height: number; status: string; firstImage: number; gpuReady: number };
    expect(result.error).toBeUndefined();
    expect(result.status).toContain('dcgan-fashion-mnist.safetensors: 64 images, seed 0');

    const engine = await createNodeEngine();
    try {
      const loaded = loadGenerator(engine, join(root, 'models', 'dcgan-fashion-mnist.safetensors'));
      const images = await sample(engine, loaded, { n: 64, seed: 0, temperature: 1 });
      loaded.G.dispose();
      expect(result.data.length).toBe(images.data.length);
      const floatDiff = Math.max(...result.data.map((v, i) => Math.abs(v - images.data[i])));
      const grid = toImageData(images, { cols: 8 });
      expect([result.width, result.height]).toEqual([grid.width, grid.height]);
      let byteDiff = 0, differing = 0;
      result.bytes.forEach((v, i) => {
        const d = Math.abs(v - grid.data[i]);
        byteDiff = Math.max(byteDiff, d);
        if (d) differing++;
      });
      console.log(`studio: first image ${result.firstImage.toFixed(0)} ms after navigation (GPU ready at ${result.gpuReady.toFixed(0)} ms); ` +
        `page vs Node: max |Δ| ${floatDiff.toExponential(2)} in [0, 1], canvas bytes max |Δ| ${byteDiff} (${differing} of ${result.bytes.length} differ)`);
      expect(floatDiff).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      expect(byteDiff).toBeLessThanOrEqual(BYTE_TOLERANCE);
    } finally {
      engine.destroy();
    }
  }, 120_000);

  it("tanh gives ±1, not NaN, for large inputs in Chromium's WebGPU (SwiftShader's builtin overflows from |x| ≈ 89)", async () => {
    const values = await page.evaluate(`(async () => {
      const atelier = await import('/dist/src/index.js');
      const x = atelier.tensor(window.studio.gpu.engine, [0.5, 9, 90, -100, 1000, -1e30], [6]);
      return Array.from(await atelier.tanh(x).toArray());
    })()`);
    expect(values).toEqual([Math.fround(Math.tanh(0.5)), 1, 1, -1, 1, -1].map((v, i) => (i === 0 ? expect.closeTo(v, 6) : v)));
  });

  it("the host app's deliberate WebGPU error reaches the host's listener and is not raised by atelier", async () => {
    const result = (await page.evaluate(`(async () => {
      const { device } = window.studio.gpu;
      const hostErrors = [];
      device.addEventListener('uncapturederror', (e) => hostErrors.push(e.error.message));
      device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE, label: 'host-bad' });
      document.getElementById('s-seed').value = '5';
      const images = await window.studio.sample.run();
      for (let i = 0; i < 100 && hostErrors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      return { sampled: images !== undefined && images.count === 64, hostErrors, status: document.getElementById('s-status').textContent };
    })()`)) as { sampled: boolean; hostErrors: string[]; status: string };
    expect(result.status).not.toContain('error');
    expect(result.sampled).toBe(true);
    expect(result.hostErrors.length).toBe(1);
    expect(result.hostErrors[0]).toContain('host-bad');
  }, 60_000);

  it('trains in the tab with pause and resume; finite losses; the checkpoint saved while paused works with generate and train --resume', async () => {
    await page.click('nav button[data-view=train]');
    await page.selectOption('#t-class', 'all');
    await page.fill('#t-limit', '48');
    await page.fill('#t-batch', '16');
    await page.fill('#t-epochs', '1');
    await page.click('#t-start');
    // The first step compiles every training pipeline (about 30 s on SwiftShader).
    await page.waitForFunction('window.studio.train.state().step >= 1 || window.studio.train.state().error', undefined, { timeout: 150_000 });
    await page.click('#t-pause');
    await page.waitForSelector('#t-save:not([disabled])', { timeout: 60_000 });
    const pausedAt = (await page.evaluate('window.studio.train.state()')) as { step: number; error?: string };
    expect(pausedAt.error).toBeUndefined();
    await page.waitForTimeout(500);
    expect(((await page.evaluate('window.studio.train.state()')) as { step: number }).step).toBe(pausedAt.step);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#t-save')]);
    const checkpoint = join(tmp, 'tab.safetensors');
    await download.saveAs(checkpoint);
    await page.click('#t-pause');
    await page.evaluate('window.studio.train.finished()');
    const state = (await page.evaluate('window.studio.train.state()')) as { step: number; losses: { lossD: number; lossG: number; dReal: number; dFake: number }[]; error?: string };
    expect(state.error).toBeUndefined();
    expect(state.step).toBe(3);
    expect(state.losses).toHaveLength(3);
    for (const s of state.losses) expect([s.lossD, s.lossG, s.dReal, s.dFake].every(Number.isFinite)).toBe(true);
    const imagesPerSecond = Number(await page.getAttribute('#t-status', 'data-images-per-second'));
    expect(imagesPerSecond).toBeGreaterThan(0);
    expect(await page.getAttribute('#t-loss', 'data-points')).toBe('6');
    expect(await page.textContent('#t-grid-caption')).toContain('after epoch 1');
    console.log(`studio: training in the tab on SwiftShader: ${imagesPerSecond.toFixed(1)} images/s (batch 16); checkpoint saved at step ${pausedAt.step}`);

    const cli = (script: string, ...args: string[]) => spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', script), ...args], { encoding: 'utf8', cwd: tmp });
    const generated = cli('generate.js', '--checkpoint', checkpoint, '--n', '4', '--out', join(tmp, 'from-tab.png'));
    expect(generated.stderr).not.toMatch(/error/);
    expect(generated.status).toBe(0);
    expect(readFileSync(join(tmp, 'from-tab.png')).subarray(1, 4).toString()).toBe('PNG');
    // The same flags on the command line make the same run: data order, initial weights, fixed z (to the GPUs' rounding).
    const direct = cli('train.js', '--data', join(tmp, 'data'), '--limit', '48', '--batch-size', '16', '--epochs', '1', '--seed', '0', '--max-steps', String(pausedAt.step), '--out', join(tmp, 'cli-run'));
    expect(direct.status, direct.stderr).toBe(0);
    const tab = decodeSafetensors(readFileSync(checkpoint));
    const ref = decodeSafetensors(readFileSync(join(tmp, 'cli-run', 'checkpoints', 'latest.safetensors')));
    expect(Object.keys(tab.tensors).sort()).toEqual(Object.keys(ref.tensors).sort());
    for (const key of ['step', 'batcher', 'rng', 'optimizer_g_step', 'format', 'model']) expect(tab.metadata[key], key).toBe(ref.metadata[key]);
    const maxDiff = (name: string) => {
      const a = tab.tensors[name].data as Float32Array, b = ref.tensors[name].data as Float32Array;
      return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    };
    // WGSL's log and cos are loose (SwiftShader and lavapipe differ by up to ~1e-3 in z); another seed differs by ~1.
    expect(maxDiff('fixed_z')).toBeLessThan(5e-3);
    // Adam moves a weight by up to lr per step whatever its gradient's size, so weights whose gradients are near 0
    // (and differ in sign between the GPUs) may differ by 2·lr per step; the mean shows the run is the same one
    // (another seed changes the initial weights, N(0, 0.02), by about 2e-2 on average).
    const weights = Object.keys(tab.tensors).filter((n) => /^(generator|discriminator)\.\d+\.weight$/.test(n));
    let sum = 0, count = 0;
    for (const name of weights) {
      const a = tab.tensors[name].data as Float32Array, b = ref.tensors[name].data as Float32Array;
      a.forEach((v, i) => (sum += Math.abs(v - b[i])));
      count += a.length;
    }
    const worst = Math.max(...weights.map(maxDiff));
    console.log(`studio: tab vs CLI checkpoint at step ${pausedAt.step}: weights mean |Δ| ${(sum / count).toExponential(2)}, max |Δ| ${worst.toExponential(2)}; fixed z max |Δ| ${maxDiff('fixed_z').toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(2 * 2e-4 * pausedAt.step + 1e-4);
    expect(sum / count).toBeLessThan(5e-5);
    const resumed = cli('train.js', '--resume', checkpoint, '--out', join(tmp, 'resumed'), '--max-steps', String(pausedAt.step + 1));
    expect(resumed.stderr).not.toMatch(/error/);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain(`resumed from ${checkpoint} at step ${pausedAt.step}`);
    expect(existsSync(join(tmp, 'resumed', 'checkpoints', 'latest.safetensors'))).toBe(true);
  }, 240_000);

  it('trains class-conditional in the tab: a 10 × 8 grid (a row per class) each epoch; generate --class all and train --resume read its checkpoint', async () => {
    await page.click('nav button[data-view=train]');
    await page.check('#t-conditional');
    await page.selectOption('#t-class', 'all');
    await page.fill('#t-limit', '20');
    await page.fill('#t-batch', '10');
    await page.fill('#t-epochs', '1');
    await page.click('#t-start');
    await page.evaluate('window.studio.train.finished()');
    const state = (await page.evaluate('window.studio.train.state()')) as { step: number; losses: { lossD: number; lossG: number }[]; error?: string };
    expect(state.error).toBeUndefined();
    expect(state.step).toBe(2);
    for (const s of state.losses) expect([s.lossD, s.lossG].every(Number.isFinite)).toBe(true);
    expect(await page.textContent('#t-grid-caption')).toMatch(/one row per class, after epoch 1/);
    // 8 columns × 10 rows of 28 × 28 with 2-pixel padding.
    expect(await page.evaluate(`[document.getElementById('t-grid').width, document.getElementById('t-grid').height]`)).toEqual([8 * 30 + 2, 10 * 30 + 2]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#t-save')]);
    await download.saveAs(conditionalCheckpoint());
    await page.uncheck('#t-conditional');

    const cli = (script: string, ...args: string[]) => spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', script), ...args], { encoding: 'utf8', cwd: tmp });
    const generated = cli('generate.js', '--checkpoint', conditionalCheckpoint(), '--class', 'all', '--out', join(tmp, 'from-tab-conditional.png'));
    expect(generated.status, generated.stderr).toBe(0);
    expect(readFileSync(join(tmp, 'from-tab-conditional.png')).subarray(1, 4).toString()).toBe('PNG');
    const resumed = cli('train.js', '--resume', conditionalCheckpoint(), '--out', join(tmp, 'resumed-conditional'), '--max-steps', '3');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('class-conditional');
    expect(resumed.stdout).toContain('at step 2');
  }, 240_000);

  it("a class-conditional generator's latent walk stays within the chosen class: both ends are sample()'s images of that class", async () => {
    await page.click('nav button[data-view=sample]');
    // After a few steps in the tab every class's batchnorm γ and β are still near their initial 1 and 0, so the
    // classes barely differ yet; shifting β by class (as training would move them apart) makes them differ.
    const { tensors, metadata } = readSafetensors(conditionalCheckpoint());
    const beta = tensors['generator.1.bias'];
    const channels = beta.shape[1];
    const distinct = join(tmp, 'distinct', 'tab-conditional.safetensors');
    mkdirSync(join(tmp, 'distinct'), { recursive: true });
    writeSafetensors(distinct, { ...tensors, 'generator.1.bias': { ...beta, data: beta.data.map((v, i) => v + 0.5 * Math.floor(i / channels)) } }, metadata);
    await page.setInputFiles('#s-file', distinct);
    await page.waitForFunction(`document.getElementById('w-status').textContent.includes('at both ends')`, undefined, { timeout: 60_000 });
    await page.selectOption('#s-class', '3');
    const result = (await page.evaluate(`(async () => {
      const s = window.studio;
      await s.sample.run();
      const atelier = await import('/dist/src/index.js');
      const canvas = document.getElementById('w-strip');
      const strip = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      // Frame k of the strip (8 frames, 2-pixel padding) against sample()'s image for a seed and class.
      const differs = async (k, seed, cls) => {
        const want = atelier.toImageData(await atelier.sample(s.gpu.engine, s.sample.generator, { n: 1, seed, temperature: 1, class: cls }), { cols: 1, pad: 0 }).data;
        let worst = 0;
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
          worst = Math.max(worst, Math.abs(strip[((2 + y) * canvas.width + 2 + k * 30 + x) * 4] - want[(y * 28 + x) * 4]));
        }
        return worst;
      };
      return { classes: s.sample.generator.classes, walk: document.getElementById('w-status').textContent,
        a: await differs(0, 1, 3), b: await differs(7, 2, 3), otherClassA: await differs(0, 1, 4), otherClassB: await differs(7, 2, 4) };
    })()`)) as { classes: number; walk: string; a: number; b: number; otherClassA: number; otherClassB: number };
    expect(result.classes).toBe(10);
    expect(await page.$eval('#s-model', (s) => (s as HTMLSelectElement).selectedOptions[0].textContent)).toBe('tab-conditional.safetensors (dropped file)');
    expect(result.walk).toContain('class 3 dress at both ends');
    expect(result.a).toBeLessThanOrEqual(BYTE_TOLERANCE);
    expect(result.b).toBeLessThanOrEqual(BYTE_TOLERANCE);
    // The class matters: the same z with class 4 gives other images.
    expect(Math.min(result.otherClassA, result.otherClassB)).toBeGreaterThan(BYTE_TOLERANCE);
  }, 120_000);

  it("a dropped generator's own sampling temperature (export-generator --temperature) moves the slider and is sampled at", async () => {
    const { tensors, metadata } = readSafetensors(conditionalCheckpoint());
    mkdirSync(join(tmp, 'warm'), { recursive: true });
    const warm = join(tmp, 'warm', 'warm.safetensors');
    writeSafetensors(warm, tensors, { ...metadata, temperature: '1.13' });
    await page.setInputFiles('#s-file', warm);
    // The load's status names the file's temperature; the grid drawn after it says what it sampled at.
    await page.waitForFunction(`/^warm.safetensors: \\d+ images, seed \\d+, temperature /.test(document.getElementById('s-status').textContent)`, undefined, { timeout: 60_000 });
    expect(await page.$eval('#s-status', (e) => e.textContent)).toMatch(/temperature 1\.13 in \d+ ms/);
    expect([await page.$eval('#s-temp', (e) => (e as HTMLInputElement).value), await page.$eval('#s-temp-out', (e) => (e as HTMLOutputElement).value)]).toEqual(['1.13', '1.13']);
  }, 120_000);

  it('the run view draws the curves of a fixture run and follows it as metrics.jsonl grows', async () => {
    await page.click('nav button[data-view=runs]');
    await page.waitForFunction(`document.getElementById('r-loss').dataset.points === '6'`, undefined, { timeout: 10_000 });
    const red = (await page.evaluate(`(() => {
      const c = document.getElementById('r-loss');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 180 && d[i + 1] < 110 && d[i + 2] < 110) n++;
      return n;
    })()`)) as number;
    expect(red).toBeGreaterThan(100); // the D loss line (and its legend swatch)
    await page.waitForFunction(`document.getElementById('r-sample').naturalWidth === 30`, undefined, { timeout: 10_000 });
    appendFileSync(join(tmp, 'runs', 'fixture-run', 'metrics.jsonl'), epochLine(4));
    await page.waitForFunction(`document.getElementById('r-loss').dataset.points === '8'`, undefined, { timeout: 10_000 });
    expect(await page.textContent('#r-status')).toContain('4 epochs');
    if (process.env.STUDIO_SCREENSHOT) await page.screenshot({ path: process.env.STUDIO_SCREENSHOT });
  }, 60_000);

  it('without WebGPU the page says so and how to enable it; the run view still works', async () => {
    const bare = await browser.newPage();
    await bare.addInitScript('Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined })');
    await bare.goto(url);
    await bare.waitForSelector('#no-gpu:not([hidden])', { timeout: 10_000 });
    const text = await bare.textContent('#no-gpu');
    expect(text).toContain('navigator.gpu is missing');
    expect(text).toContain('--enable-unsafe-webgpu');
    expect(text).toContain('chrome://flags');
    await bare.click('nav button[data-view=runs]');
    await bare.waitForFunction(`Number(document.getElementById('r-loss').dataset.points) >= 6`, undefined, { timeout: 10_000 });
    await bare.close();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
