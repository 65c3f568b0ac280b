// The npm package as a user gets it: `npm pack`, install the tarball into a scratch app, then use both entries
// from Node ESM (and the `atelier` bin), from TypeScript (strict, @webgpu/types only through atelier's own
// .d.ts) and from an esbuild browser bundle that must hold no node: import. Prints the tarball and bundle sizes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync, realpathSync, statSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MODULES = join(ROOT, 'node_modules');
let tmp: string;
let app: string;
let tarball: string;
let packed: { path: string; size: number }[] = [];
let skipped = '';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { code: number; out: string; stdout: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

/** Links a package of this repo's node_modules into the scratch app (a dev tool or webgpu: no download). */
function linkFromRepo(name: string): void {
  const target = join(app, 'node_modules', name);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(realpathSync(join(NODE_MODULES, name)), target, 'dir');
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'atelier-package-'));
  // npm pack runs `prepare` (the build) first.
  const pack = run('npm', ['pack', '--json', '--pack-destination', tmp], ROOT);
  if (pack.code !== 0) {
    skipped = `npm pack failed (${pack.out.trim().split('\n').slice(-3).join(' ')})`;
    return;
  }
  const info = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m)))[0] as { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] };
  tarball = join(tmp, info.filename);
  packed = info.files;
  console.log(`tarball ${info.filename}: ${(info.size / 1e6).toFixed(2)} MB packed, ${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${info.files.length} files`);
  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true, type: 'module' }));
  // Dependency tarballs come from npm's cache (this repo's own install filled it); only their registry metadata
  // may need the registry. webgpu, an optional peer, is not installed.
  const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app);
  if (install.code !== 0) skipped = `npm install of the tarball failed (${install.out.trim().split('\n').slice(-3).join(' ')})`;
}, 240_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds dist/src (code and types), the LICENSE, README and shipped models; no tests, bench, docs, maps or build info', (ctx) => {
    if (skipped) return ctx.skip(skipped);
    const paths = packed.map((f) => f.path);
    for (const want of ['LICENSE', 'README.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/node/index.js', 'dist/src/node/index.d.ts', 'dist/src/cli/atelier.js', 'models/dcgan-fashion-mnist.safetensors', 'models/dcgan-conditional-fashion-mnist.safetensors', 'models/dcgan-conditional-fashion-mnist.json', 'models/dcgan-best-fashion-mnist.safetensors', 'models/dcgan-best-fashion-mnist.json', 'models/classifier.safetensors', 'dist/studio/main.js', 'studio/index.html', 'dist/src/cli/studio.js']) {
      expect(paths, want).toContain(want);
    }
    const unwanted = paths.filter((p) => /^(test|bench|docs|scripts|shaders|src)\/|^dist\/(bench|test)\/|\.map$|tsbuildinfo|tfjs/.test(p));
    expect(unwanted).toEqual([]);
    expect(readFileSync(join(app, 'node_modules/atelier/dist/src/index.d.ts'), 'utf8')).toMatch(/^\/\/\/ <reference types="@webgpu\/types"/);
  });

  it('imports from Node ESM; atelier/node says how to get webgpu when it is missing, then samples and runs the bin', (ctx) => {
    if (skipped) return ctx.skip(skipped);
    writeFileSync(join(app, 'missing.mjs'), `
import * as core from 'atelier';
import { createNodeEngine, readSafetensors } from 'atelier/node';
for (const name of ['Engine', 'engineFromDevice', 'decodeSafetensors', 'encodeSafetensors', 'loadGenerator', 'sample', 'toImageData', 'drawToCanvas', 'Adam', 'Module', 'runTraining']) {
  if (typeof core[name] !== 'function') throw new Error('atelier lacks ' + name);
}
if (typeof readSafetensors !== 'function') throw new Error('atelier/node lacks readSafetensors');
await createNodeEngine().then(() => console.log('engine without webgpu?'), (e) => console.log(e.message));
`);
    const missing = run('node', ['missing.mjs'], app);
    expect(missing.out.trim()).toBe('the webgpu package is not installed; npm install webgpu');
    // With webgpu present (linked from this repo: its native binaries are 130 MB), the README's Node quick start (its .mjs, as the README says).
    linkFromRepo('webgpu');
    writeFileSync(join(app, 'quick.mjs'), `
import { sample, toImageData } from 'atelier';
import { createNodeEngine, loadGenerator } from 'atelier/node';
const engine = await createNodeEngine();
const generator = loadGenerator(engine, 'node_modules/atelier/models/dcgan-fashion-mnist.safetensors');
const images = await sample(engine, generator, { n: 4, seed: 1 });
const grid = toImageData(images, { cols: 2 });
console.log(images.count, grid.width, grid.height, Math.max(...images.data) <= 1);
`);
    const quick = run('node', ['quick.mjs'], app);
    expect(quick.out).toMatch(/^4 62 62 true$/m);
    // The README's Node quick start itself, saved as the README says (grid.mjs), writes its grid.
    const install = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n## Install\n')[1].split('\n## ')[0];
    writeFileSync(join(app, 'grid.mjs'), install.match(/```js\n([\s\S]*?)```/)![1]);
    const readme = run('node', ['grid.mjs'], app);
    expect(readme.code, readme.out).toBe(0);
    expect(readFileSync(join(app, 'grid.png')).subarray(1, 4).toString()).toBe('PNG');
    const help = run(join(app, 'node_modules/.bin/atelier'), ['generate', '--help'], app);
    expect(help.out).toMatch(/--checkpoint FILE/);
    expect(help.code).toBe(0);
    const gen = run(join(app, 'node_modules/.bin/atelier'), ['generate', '--checkpoint', 'node_modules/atelier/models/dcgan-fashion-mnist.safetensors', '--n', '4', '--out', 'grid.png'], app);
    expect(gen.out).toMatch(/wrote grid\.png/);
    expect(statSync(join(app, 'grid.png')).size).toBeGreaterThan(500);
    // Without --checkpoint: the best shipped generator, found inside the installed package.
    const byDefault = run(join(app, 'node_modules/.bin/atelier'), ['generate', '--n', '4', '--out', 'default.png'], app);
    expect(byDefault.out).toMatch(/generator: node_modules\/atelier\/models\/dcgan-best-fashion-mnist\.safetensors \(the shipped default/);
    expect(statSync(join(app, 'default.png')).size).toBeGreaterThan(500);
    const unknown = run(join(app, 'node_modules/.bin/atelier'), ['trian'], app);
    expect([unknown.code, unknown.out.trim()]).toEqual([2, 'error: unknown command "trian"; use one of train, generate, evaluate, critic, export-generator, train-classifier, metric-sensitivity, studio, compare']);
  });

  it('`atelier studio` serves the page, the core and the shipped generators from the installed package', async (ctx) => {
    if (skipped) return ctx.skip(skipped);
    const server = spawn(join(app, 'node_modules/.bin/atelier'), ['studio', '--port', '0', '--runs', 'runs'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (c) => {
          out += c;
          const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
          if (m) resolve(m[0]);
        });
        server.stderr.on('data', (c) => (out += c));
        server.on('exit', () => reject(new Error(`atelier studio exited: ${out}`)));
      });
      expect(await (await fetch(`${url}studio/`)).text()).toContain('atelier studio');
      for (const path of ['studio/js/main.js', 'studio/style.css', 'dist/src/index.js']) expect((await fetch(url + path)).status, path).toBe(200);
      const models = (await (await fetch(`${url}api/models`)).json()) as { name: string }[];
      expect(models.map((m) => m.name)).toEqual(['dcgan-best-fashion-mnist.safetensors', 'dcgan-conditional-fashion-mnist.safetensors', 'dcgan-fashion-mnist.safetensors']);
    } finally {
      server.kill();
    }
  });

  it('type-checks a strict TypeScript consumer of both entries (WebGPU types only through atelier)', (ctx) => {
    if (skipped) return ctx.skip(skipped);
    linkFromRepo('@types/node');
    const options = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, skipLibCheck: false };
    // A page's code: the core alone, no Node types, no @webgpu/types of its own.
    writeFileSync(join(app, 'tsconfig.page.json'), JSON.stringify({ compilerOptions: { ...options, types: [] }, files: ['page-check.ts'] }));
    writeFileSync(join(app, 'page-check.ts'), `
import { engineFromDevice, loadGenerator, sample, drawToCanvas, Adam, requiredLimits, type Engine, type Images } from 'atelier';
export async function inPage(adapter: GPUAdapter, canvas: HTMLCanvasElement): Promise<Images> {
  const device: GPUDevice = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter) });
  const engine: Engine = engineFromDevice(device);
  const generator = await loadGenerator(engine, new URL('https://example.com/g.safetensors'));
  const images = await sample(engine, generator, { n: 16, seed: 3, temperature: 0.9, class: generator.classes ? 0 : undefined });
  drawToCanvas(canvas, images, { cols: 4 });
  new Adam(engine, generator.G.parameters());
  return images;
}
`);
    // A Node program using both entries.
    writeFileSync(join(app, 'tsconfig.node.json'), JSON.stringify({ compilerOptions: { ...options, types: ['node'] }, files: ['node-check.ts'] }));
    writeFileSync(join(app, 'node-check.ts'), `
import { sample, toImageData, type Engine } from 'atelier';
import { createNodeEngine, loadGenerator, readSafetensors, writePng } from 'atelier/node';
export async function inNode(): Promise<number> {
  const engine: Engine = await createNodeEngine();
  const generator = loadGenerator(engine, 'g.safetensors');
  const { width, height, data } = toImageData(await sample(engine, generator, { n: 4 }));
  writePng('grid.png', width, height, new Uint8Array(data.buffer));
  return Object.keys(readSafetensors('g.safetensors').tensors).length + engine.stats.submits;
}
`);
    for (const project of ['tsconfig.page.json', 'tsconfig.node.json']) {
      const tsc = run('node', [join(NODE_MODULES, 'typescript/bin/tsc'), '-p', project], app);
      expect(tsc.out, project).toBe('');
      expect(tsc.code, project).toBe(0);
    }
  });

  it('bundles the core for a browser with esbuild: no node: import or Node builtin reaches it', async (ctx) => {
    if (skipped) return ctx.skip(skipped);
    writeFileSync(join(app, 'page.js'), `
import { engineFromDevice, requiredLimits, loadGenerator, sample, drawToCanvas } from 'atelier';
const adapter = await navigator.gpu.requestAdapter();
const engine = engineFromDevice(await adapter.requestDevice({ requiredLimits: requiredLimits(adapter) }));
const generator = await loadGenerator(engine, 'dcgan-fashion-mnist.safetensors');
drawToCanvas(document.querySelector('canvas'), await sample(engine, generator, { n: 64, seed: 1 }), { cols: 8 });
`);
    const esbuild = await import(join(NODE_MODULES, 'esbuild/lib/main.js'));
    const result = await esbuild.build({
      entryPoints: [join(app, 'page.js')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
      minify: true, write: false, metafile: true, logLevel: 'silent', absWorkingDir: app,
    });
    const code = result.outputFiles[0].text as string;
    const inputs = Object.keys(result.metafile.inputs);
    console.log(`browser bundle of page.js: ${(code.length / 1024).toFixed(0)} KiB minified, ${inputs.length} modules`);
    expect(inputs.filter((p) => /node:|pngjs|\/(node|io|cli)\//.test(p))).toEqual([]);
    expect(code).not.toMatch(/["']node:|require\(["'](fs|path|os|url|child_process)["']\)/);
    expect(code).toContain('engineFromDevice');
  });
});
