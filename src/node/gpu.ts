// Node entry to the GPU: Dawn through the `webgpu` package.
import { mkdirSync } from 'node:fs';
import { create, globals } from 'webgpu';
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

export async function createNodeEngine(flags: string[] = []): Promise<Engine> {
  if (!process.env.XDG_RUNTIME_DIR) {
    process.env.XDG_RUNTIME_DIR = `/tmp/xdg-runtime-${process.getuid?.() ?? 0}`;
    mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  }
  Object.assign(globalThis, globals);
  const gpu = create(flags);
  keepAlive.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError();
  if (isSoftwareAdapter(adapter.info)) paceDawnPolling();
  const engine = await engineFromAdapter(adapter);
  keepAlive.push(adapter, engine);
  return engine;
}

export class NoAdapterError extends Error {
  constructor() {
    super(NO_ADAPTER_MESSAGE);
    this.name = 'NoAdapterError';
  }
}
