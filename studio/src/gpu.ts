// The page's GPUDevice and the engine on it, or a message saying why there is none and how to get one.
import { engineFromDevice, requiredLimits, type Engine } from 'atelier';

export interface Gpu {
  device: GPUDevice;
  engine: Engine;
  adapterName: string;
}

export const NO_WEBGPU_HELP =
  'This browser has no WebGPU (navigator.gpu is missing), so the Sample and Train views cannot run; the run view works without it. ' +
  'Chrome and Edge 113+ have WebGPU on Windows, macOS and ChromeOS. On Linux, enable it at chrome://flags/#enable-unsafe-webgpu ' +
  '(and chrome://flags/#enable-vulkan), or start Chromium with --enable-unsafe-webgpu --enable-features=Vulkan. ' +
  'Firefox: set dom.webgpu.enabled in about:config. WebGPU also needs a secure context: http://127.0.0.1 or https.';

/** Requests an adapter and a device with the limits the engine can use. Throws with NO_WEBGPU_HELP or the reason. */
export async function openGpu(): Promise<Gpu> {
  if (!('gpu' in navigator) || !navigator.gpu) throw new Error(NO_WEBGPU_HELP);
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error(`navigator.gpu gave no adapter (WebGPU is blocked for this GPU or driver). ${NO_WEBGPU_HELP}`);
  const device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter) });
  const info = adapter.info;
  const adapterName = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'WebGPU adapter';
  return { device, engine: engineFromDevice(device, adapterName), adapterName };
}
