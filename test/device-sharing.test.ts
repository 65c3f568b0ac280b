// Sharing a GPUDevice with a host app: the host's WebGPU errors stay the host's, the engine's are still thrown,
// destroy() leaves nothing installed, and engineFromDevice names any limit the device lacks.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { requestNodeAdapter } from '../src/node/gpu.js';
import { engineFromDevice, requiredLimits, ENGINE_LIMITS, DeviceLimitsError } from '../src/runtime/device.js';
import { fill } from '../src/tensor/ops/create.js';

// An adapter makes one device (then it is "consumed"): each test asks for a fresh one.
const newDevice = async (descriptor?: GPUDeviceDescriptor) => {
  const adapter = await requestNodeAdapter();
  return adapter.requestDevice(descriptor ?? { requiredLimits: requiredLimits(adapter) });
};

/** A host app's device that records the errors WebGPU gives the host (uncaptured ones). */
async function hostDevice() {
  const device = await newDevice();
  const hostErrors: string[] = [];
  device.addEventListener('uncapturederror', (e) => hostErrors.push((e as GPUUncapturedErrorEvent).error.message));
  return { device, hostErrors };
}

/** The host's own mistake: MAP_READ may only be combined with COPY_DST. */
const hostMistake = (device: GPUDevice) => device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE, label: 'host-bad' });

async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe('sharing a device with a host app', () => {
  it("a host's WebGPU error is not thrown by the engine's next ops, before or during a recording", async () => {
    const { device, hostErrors } = await hostDevice();
    const engine = engineFromDevice(device);
    hostMistake(device);
    const a = fill(engine, [8], 2);
    hostMistake(device); // while the engine has recorded but not submitted work
    expect(Array.from(await a.toArray())).toEqual(new Array(8).fill(2));
    await engine.sync();
    await until(() => hostErrors.length === 2);
    expect(hostErrors.length).toBe(2);
    expect(hostErrors.every((m) => m.includes('host-bad'))).toBe(true);
    a.dispose();
    engine.destroy();
    device.destroy();
  });

  it("the engine's own error is thrown by the engine and not handed to the host", async () => {
    const { device, hostErrors } = await hostDevice();
    const engine = engineFromDevice(device);
    const a = fill(engine, [8], 1);
    const b = fill(engine, [8], 0);
    engine.copy(a.buffer, b.buffer, 6); // a copy must move a multiple of 4 bytes
    await expect(engine.sync()).rejects.toThrow(/^submit #\d+: WebGPU validation error: .*multiple of 4/s);
    // the engine goes on working after reporting it
    expect(Array.from(await fill(engine, [2], 5).toArray())).toEqual([5, 5]);
    await new Promise((r) => setTimeout(r, 50));
    expect(hostErrors).toEqual([]);
    engine.destroy();
    device.destroy();
  });

  it('destroy() removes what the engine installed and leaves the device to the host', async () => {
    const device = await newDevice();
    let listeners = 0;
    const add = device.addEventListener.bind(device);
    const remove = device.removeEventListener.bind(device);
    device.addEventListener = ((...args: Parameters<typeof add>) => { listeners++; add(...args); }) as typeof device.addEventListener;
    device.removeEventListener = ((...args: Parameters<typeof remove>) => { listeners--; remove(...args); }) as typeof device.removeEventListener;
    let errorHandler = 0;
    Object.defineProperty(device, 'onuncapturederror', { set: () => errorHandler++, get: () => null, configurable: true });
    const engine = engineFromDevice(device);
    const t = fill(engine, [1000], 3);
    expect((await t.toArray())[999]).toBe(3);
    t.dispose();
    expect(engine.pool.allocatedBytes).toBeGreaterThan(0);
    expect(engine.stats.pipelines).toBeGreaterThan(0);
    engine.destroy();
    expect([listeners, errorHandler]).toEqual([0, 0]);
    expect(engine.pool.allocatedBytes).toBe(0);
    expect(() => fill(engine, [1], 1)).toThrow(/this Engine was destroyed/);
    // the host's device still works
    const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    await buffer.mapAsync(GPUMapMode.READ);
    buffer.unmap();
    device.destroy();
  });
});

describe('engineFromDevice checks the device limits', () => {
  it('a device with WebGPU default limits is enough', async () => {
    const device = await newDevice({});
    const engine = engineFromDevice(device);
    expect(Array.from(await fill(engine, [3], 7).toArray())).toEqual([7, 7, 7]);
    engine.destroy();
    device.destroy();
  });

  it('names each limit below what the engine needs and how to request it', async () => {
    const device = await newDevice({});
    for (const [short, value] of [['maxStorageBuffersPerShaderStage', 4], ['maxComputeInvocationsPerWorkgroup', 128], ['maxBufferSize', 1 << 20]] as const) {
      const limits = new Proxy(device.limits, { get: (target, key) => (key === short ? value : Reflect.get(target, key)) });
      const reduced = new Proxy(device, { get: (target, key) => (key === 'limits' ? limits : Reflect.get(target, key)) });
      expect(() => engineFromDevice(reduced)).toThrow(DeviceLimitsError);
      expect(() => engineFromDevice(reduced)).toThrow(`engineFromDevice: the device's ${short} is ${value}, atelier needs ${ENGINE_LIMITS[short]}; ` +
        `request more when creating it: adapter.requestDevice({ requiredLimits: { ${short}: adapter.limits.${short} } })`);
    }
    device.destroy();
  });

  it('ENGINE_LIMITS covers every shader: storage buffers per shader, workgroup size and workgroup memory', () => {
    const dir = new URL('../shaders/', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.wgsl'))) {
      const code = readFileSync(new URL(file, dir), 'utf8');
      expect((code.match(/var<storage/g) ?? []).length, file).toBeLessThanOrEqual(ENGINE_LIMITS.maxStorageBuffersPerShaderStage);
      const wg = Number(code.match(/const WG = (\d+)u;/)?.[1] ?? 0);
      for (const m of code.matchAll(/@workgroup_size\((\w+)/g)) {
        const size = m[1] === 'WG' ? wg || 8 : Number(m[1]); // matmul.wgsl's WG is FAST_WORKGROUP (8)
        expect(size, file).toBeLessThanOrEqual(ENGINE_LIMITS.maxComputeWorkgroupSizeX);
        expect(size, file).toBeLessThanOrEqual(ENGINE_LIMITS.maxComputeInvocationsPerWorkgroup);
      }
      let bytes = 0;
      for (const m of code.matchAll(/var<workgroup>\s*\w+\s*:\s*array<(f32|u32|vec2f|vec4f),\s*(\w+)>/g)) {
        bytes += { f32: 4, u32: 4, vec2f: 8, vec4f: 16 }[m[1]]! * (m[2] === 'WG' ? wg : Number(m[2]));
      }
      expect(bytes, file).toBeLessThanOrEqual(ENGINE_LIMITS.maxComputeWorkgroupStorageSize);
    }
  });
});
