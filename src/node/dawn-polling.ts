// Dawn's Node binding waits for GPU work (mapAsync, onSubmittedWorkDone) by re-posting a native callback
// with setImmediate for as long as anything is pending (AsyncRunner::ScheduleProcessEvents): the main
// thread spins at 100 % of a core. On a software adapter the "GPU" is the CPU's other cores, and the spin
// starves it: on lavapipe with 2 cores the DCGAN step took 1.65 s with the spin and 0.94 s without.
// So there we make Dawn's callbacks (native functions) wait for the next timer tick (≈1 ms) instead; a
// JavaScript caller's setImmediate is untouched. On a hardware adapter the spin costs a core nobody needs,
// and polling each event-loop turn keeps readbacks prompt, so nothing changes.

let installed = false;

const isNative = (fn: unknown) => typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]');

/** Makes Dawn's polling sleep between polls, process-wide; idempotent. */
export function paceDawnPolling(): void {
  if (installed) return;
  installed = true;
  const immediate = globalThis.setImmediate;
  const paced = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    isNative(callback) ? setTimeout(callback, 0, ...args) : immediate(callback, ...args);
  globalThis.setImmediate = paced as unknown as typeof setImmediate;
}

/** Whether an adapter runs on the CPU (lavapipe, SwiftShader), where Dawn's busy polling competes with it. */
export function isSoftwareAdapter(info: GPUAdapterInfo | undefined): boolean {
  const { isFallbackAdapter } = (info ?? {}) as { isFallbackAdapter?: boolean };
  return isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/i.test(`${info?.device} ${info?.description}`);
}
