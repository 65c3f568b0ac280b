// The browser-safe core runs unchanged in Chromium's WebGPU: the compiled dist/src/index.js is served from
// loopback, a page hands the engine its own GPUDevice, and a small forward + backward is checked against float64.
import { it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';

const CHROMIUM = '/usr/bin/chromium';
const root = process.cwd();
let server: Server;
let origin = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>atelier</title>');
      return;
    }
    const file = join(root, path);
    if (!file.startsWith(join(root, 'dist')) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(() => server?.close());

it.skipIf(!existsSync(CHROMIUM))('the engine runs in headless Chromium on a GPUDevice the page provides', async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--enable-unsafe-webgpu'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(origin);
    // A string, not a function: vitest would rewrite a function's dynamic import() for Node.
    const result = (await page.evaluate(`(async () => {
      const atelier = await import('/dist/src/index.js');
      const adapter = await navigator.gpu.requestAdapter();
      if (!adapter) return { error: 'no adapter' };
      const device = await adapter.requestDevice({ requiredLimits: atelier.requiredLimits(adapter) });
      const engine = atelier.engineFromDevice(device, 'page device');
      const x = atelier.tensor(engine, [1, -2, 3, 0.5, 4, -1], [2, 3]);
      const w = atelier.tensor(engine, [0.5, -1, 2, 0, 1, 1], [3, 2]);
      w.requiresGrad = true;
      const y = atelier.tidy(engine, () => {
        const out = atelier.tanh(atelier.matmul(x, w));
        atelier.backward(atelier.sum(out));
        return out;
      });
      return { y: Array.from(await y.toArray()), grad: Array.from(await w.grad.toArray()) };
    })()`)) as { y: number[]; grad: number[]; error?: string };
    expect(result).not.toHaveProperty('error');
    // float64 reference
    const x = [[1, -2, 3], [0.5, 4, -1]];
    const w = [[0.5, -1], [2, 0], [1, 1]];
    const pre = x.map((r) => [0, 1].map((j) => r.reduce((s, v, k) => s + v * w[k][j], 0)));
    const y = pre.flat().map(Math.tanh);
    const grad = w.map((_, k) => [0, 1].map((j) => x.reduce((s, r, i) => s + r[k] * (1 - Math.tanh(pre[i][j]) ** 2), 0))).flat();
    result.y.forEach((v, i) => expect(v).toBeCloseTo(y[i], 5));
    result.grad.forEach((v, i) => expect(v).toBeCloseTo(grad[i], 4));
  } finally {
    await browser.close();
  }
});
