// Node entry to the GPU: Dawn through the `webgpu` package, an optional peer dependency — loaded only here, when
// a Node engine is asked for, so the rest of atelier (and every browser) works without its native binaries.
import { mkdirSync } from 'node:fs';
import { engineFromAdapter } from '../runtime/device.js';
import { paceDawnPolling, isSoftwareAdapter } from './dawn-polling.js';
import type { Engine } from '../runtime/engine.js';

export const NO_ADAPTER_MESSAGE = `No WebGPU adapter found.
Dawn needs a Vulkan driver. On a machine without a GPU, install Mesa's software driver (lavapipe) from
bookworm-backports (Debian bookworm's own 22.3 build is refused by Dawn):
  echo "deb http://deb.debian.org/debian bookworm-backports main" | sudo tee /etc/apt/sources.list.d/backports.list
  sudo apt-get update && sudo apt-get install -t bookworm-backports mesa-vulkan-drivers
or simply run: bash scripts/setup.sh`;

// Dawn crashes at the next mapAsync once the object create() returned is garbage-collected: hold it forever.
const keepAlive: unknown[] = [];

/** Thrown when the optional `webgpu` package (Dawn for Node) cannot be loaded. */
export class MissingWebgpuError extends Error {
  constructor(cause: unknown) {
    super('the webgpu package is not installed; npm install webgpu', { cause });
    this.name = 'MissingWebgpuError';
  }
}

type WebgpuModule = { create: (flags: string[]) => GPU; globals: object };

async function importWebgpu(): Promise<WebgpuModule> {
  try {
    return (await import('webgpu')) as unknown as WebgpuModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new MissingWebgpuError(e);
    throw e;
  }
}

/**
 * A WebGPU adapter from Dawn (the `webgpu` package), with WebGPU's globals (GPUBufferUsage, …) installed on
 * globalThis — for a Node program that wants its own device; createNodeEngine does this and more. Throws
 * MissingWebgpuError without the package and NoAdapterError when Dawn finds no adapter.
 */
export async function requestNodeAdapter(flags: string[] = []): Promise<GPUAdapter> {
  const { create, globals } = await importWebgpu();
  if (!process.env.XDG_RUNTIME_DIR) {
    process.env.XDG_RUNTIME_DIR = `/tmp/xdg-runtime-${process.getuid?.() ?? 0}`;
    mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  }
  Object.assign(globalThis, globals);
  const gpu = create(flags);
  keepAlive.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError();
  keepAlive.push(adapter);
  return adapter;
}

/**
 * An Engine on Dawn's best adapter, with a device that has every limit the kernels can use (requiredLimits).
 * `flags` are Dawn toggles (`create(flags)` of the webgpu package). Throws MissingWebgpuError without the
 * `webgpu` package, NoAdapterError without an adapter (the message says how to install lavapipe).
 */
export async function createNodeEngine(flags: string[] = []): Promise<Engine> {
  const adapter = await requestNodeAdapter(flags);
  if (isSoftwareAdapter(adapter.info)) paceDawnPolling();
  const engine = await engineFromAdapter(adapter);
  keepAlive.push(engine);
  return engine;
}

export class NoAdapterError extends Error {
  constructor() {
    super(NO_ADAPTER_MESSAGE);
    this.name = 'NoAdapterError';
  }
}
