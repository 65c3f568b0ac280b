// Turning an adapter (or a caller's device) into an Engine. Browser-safe: no Node imports here.
import { Engine } from './engine.js';

/** Limits the kernels need beyond WebGPU's defaults, capped by what the adapter offers. */
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
  const device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter), requiredFeatures, label: 'atelier' });
  return new Engine(device, adapterName(adapter), fixedSubgroupSize(device, adapter.info));
}

/** For embedding: wrap a GPUDevice the caller already has (for example in a browser app). */
export function engineFromDevice(device: GPUDevice, name = 'WebGPU device'): Engine {
  return new Engine(device, name, fixedSubgroupSize(device, (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo));
}

/** The subgroup width when the device has subgroups and they are always that wide, else null. */
function fixedSubgroupSize(device: GPUDevice, info: GPUAdapterInfo | undefined): number | null {
  const { subgroupMinSize: min, subgroupMaxSize: max } = (info ?? {}) as { subgroupMinSize?: number; subgroupMaxSize?: number };
  return device.features.has('subgroups') && min !== undefined && min === max ? min : null;
}
