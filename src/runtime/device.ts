// Turning an adapter (or a caller's device) into an Engine. Browser-safe: no Node imports here.
import { Engine } from './engine.js';

const MiB = 1024 * 1024;

/**
 * The least of each device limit the engine needs (all within WebGPU's defaults, so a plain requestDevice()
 * works; compatibility-mode and other reduced devices can fall short):
 * - 7 storage buffers in one shader (swap01.wgsl), workgroups of 256 invocations along x with 1 KiB of
 *   workgroup memory (the 256-lane reductions of bce_logits and softmax_cross_entropy);
 * - 32 MiB per buffer and per binding: the widest buffer of a default DCGAN training step (batch 128 at width
 *   64: 128 × 200,704 bytes, in the pool's 32 MiB bucket). Bigger batches or widths need more (the CLI checks).
 */
export const ENGINE_LIMITS = {
  maxStorageBuffersPerShaderStage: 7,
  maxComputeWorkgroupStorageSize: 1024,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxStorageBufferBindingSize: 32 * MiB,
  maxBufferSize: 32 * MiB,
} as const;

/** The limits of ENGINE_LIMITS that `limits` (a device's or an adapter's) falls short of, with both values. */
/**
 * The most bytes one array may hold on a device: the smaller of its maxStorageBufferBindingSize and maxBufferSize
 * (WebGPU's guaranteed 128 MiB and 256 MiB where a limit is not given). Chunked inference and the up-front
 * checks of a training step size themselves by it.
 */
export function bufferLimit(limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number }): number {
  return Math.min(limits?.maxStorageBufferBindingSize ?? 134_217_728, limits?.maxBufferSize ?? 268_435_456);
}

export function missingLimits(limits: GPUSupportedLimits): { name: keyof typeof ENGINE_LIMITS; have: number; need: number }[] {
  return (Object.entries(ENGINE_LIMITS) as [keyof typeof ENGINE_LIMITS, number][])
    .map(([name, need]) => ({ name, need, have: (limits as unknown as Record<string, number>)[name] }))
    .filter(({ have, need }) => !(have >= need));
}

/** Thrown by engineFromDevice for a device whose limits are below ENGINE_LIMITS. */
export class DeviceLimitsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLimitsError';
  }
}

/**
 * Limits to request for the engine: ENGINE_LIMITS's and the larger ones the kernels use when offered (bigger
 * textures, buffers and bindings), each at the adapter's maximum. Pass it as requestDevice's requiredLimits.
 */
export function requiredLimits(adapter: GPUAdapter): Record<string, number> {
  const want = ['maxTextureDimension2D', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX'];
  const limits: Record<string, number> = {};
  for (const name of want) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') limits[name] = value;
  }
  return limits;
}

export function adapterName(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s && String(s).trim());
  return [...new Set(parts)].join(' ').replace(/\s+/g, ' ').trim() || 'unknown adapter';
}

/** Requests a device with the limits the kernels need (and subgroups, where offered) and wraps it. */
export async function engineFromAdapter(adapter: GPUAdapter): Promise<Engine> {
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('subgroups') ? ['subgroups'] : [];
  const short = missingLimits(adapter.limits);
  if (short.length) throw new DeviceLimitsError(`${adapterName(adapter)} cannot run atelier: ${short.map((l) => `${l.name} is at most ${l.have}, atelier needs ${l.need}`).join('; ')}`);
  const device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter), requiredFeatures, label: 'atelier' });
  return new Engine(device, adapterName(adapter), fixedSubgroupSize(device, adapter.info));
}

/**
 * For embedding: wraps a GPUDevice the caller already has (for example in a browser app), which the engine
 * then shares: it never destroys it, and only its own work runs in its error scopes. Checks the device's limits
 * first and throws DeviceLimitsError naming each one below ENGINE_LIMITS and how to request it, e.g.
 * `adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } })`
 * (requiredLimits(adapter) gives them all).
 */
export function engineFromDevice(device: GPUDevice, name = 'WebGPU device'): Engine {
  const short = missingLimits(device.limits);
  if (short.length) {
    const request = short.map((l) => `${l.name}: adapter.limits.${l.name}`).join(', ');
    throw new DeviceLimitsError(`engineFromDevice: the device's ${short.map((l) => `${l.name} is ${l.have}, atelier needs ${l.need}`).join('; ')}; ` +
      `request more when creating it: adapter.requestDevice({ requiredLimits: { ${request} } }) (or requiredLimits(adapter) from atelier for all it can use)`);
  }
  return new Engine(device, name, fixedSubgroupSize(device, (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo));
}

/** The subgroup width when the device has subgroups and they are always that wide, else null. */
function fixedSubgroupSize(device: GPUDevice, info: GPUAdapterInfo | undefined): number | null {
  const { subgroupMinSize: min, subgroupMaxSize: max } = (info ?? {}) as { subgroupMinSize?: number; subgroupMaxSize?: number };
  return device.features.has('subgroups') && min !== undefined && min === max ? min : null;
}
