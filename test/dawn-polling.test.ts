import { describe, it, expect } from 'vitest';
import { isSoftwareAdapter, paceDawnPolling } from '../src/node/dawn-polling.js';
import { getEngine } from './helpers.js';

describe('pacing Dawn’s polling on software adapters', () => {
  it('recognises software adapters', () => {
    const info = (o: object) => o as GPUAdapterInfo;
    expect(isSoftwareAdapter(info({ isFallbackAdapter: true }))).toBe(true);
    expect(isSoftwareAdapter(info({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7' }))).toBe(true);
    expect(isSoftwareAdapter(info({ vendor: 'google', description: 'SwiftShader Device (Subzero)' }))).toBe(true);
    expect(isSoftwareAdapter(info({ vendor: 'nvidia', device: 'NVIDIA H100 80GB HBM3', isFallbackAdapter: false }))).toBe(false);
    expect(isSoftwareAdapter(undefined)).toBe(false);
  });

  it('leaves JavaScript callbacks immediate, delays native ones to a timer tick, and readbacks still resolve', async () => {
    const engine = await getEngine(); // lavapipe here: installs the pacing
    paceDawnPolling(); // idempotent
    // a bound function prints as native code, like the binding's callback
    const nativeLike = function () {}.bind(null);
    const js = setImmediate(() => {});
    const native = setImmediate(nativeLike) as unknown as NodeJS.Timeout;
    expect(js.constructor.name).toBe('Immediate');
    expect(native.constructor.name).toBe('Timeout');
    clearImmediate(js);
    clearTimeout(native);
    // and they still run
    await new Promise<void>((resolve) => setImmediate(function () { resolve(); }.bind(null)));
    const staged = engine.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const data = await engine.read(staged, 16);
    expect(new Float32Array(data)).toEqual(new Float32Array(4));
    staged.destroy();
  });
});
