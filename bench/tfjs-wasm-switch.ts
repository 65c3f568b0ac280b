// Whether the replacement wasm kernels (tfjs-wasm-conv-input-grad.ts, tfjs-wasm-tile.ts) do their own work or
// hand every call to the kernel tfjs ships: one initialised backend can then be timed both ways.
export const wasmReplacements = { on: true };
