// Prints the WebGPU adapter Dawn finds; exits 1 when there is none. Used by setup.sh.
import { create } from 'webgpu';
process.env.XDG_RUNTIME_DIR ??= `/tmp/xdg-runtime-${process.getuid?.() ?? 0}`;
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) { console.error('no WebGPU adapter'); process.exit(1); }
const info = adapter.info;
console.log(`WebGPU adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}`.replace(/\s+/g, ' ').trim());
globalThis.__keep = gpu;
process.exit(0);
