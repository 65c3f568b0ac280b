// A size-bucketed pool of storage buffers. A released buffer waits until the command buffer that last used it
// has been submitted: only then can a later queue.writeBuffer into it not overtake the recorded work.
const MIN_BYTES = 256;
const MB = 1024 * 1024;

export function bucketBytes(bytes: number): number {
  let size = MIN_BYTES;
  while (size < bytes) size *= 2;
  return size;
}

/** Runs `body` (which creates GPU objects) so that its WebGPU errors are reported as the engine's, not the host's. */
export type ErrorGuard = <T>(what: string, body: () => T) => T;
const unguarded: ErrorGuard = (_what, body) => body();

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private sizes = new WeakMap<GPUBuffer, number>();
  allocatedBytes = 0;
  inUseBytes = 0;
  peakInUseBytes = 0;
  buffersCreated = 0;

  constructor(
    private device: GPUDevice,
    /** The device's maxBufferSize: a bucket above it is cut down to it, a request above it refused. */
    private maxBytes = Infinity,
    private guard: ErrorGuard = unguarded,
  ) {}

  /** A buffer of at least `bytes`; `label` names what it is for in the error thrown when it cannot exist. */
  acquire(bytes: number, label = 'buffer'): GPUBuffer {
    if (bytes > this.maxBytes) {
      throw new Error(`${label}: needs a buffer of ${bytes} bytes (${(bytes / MB).toFixed(1)} MB), over this device's ` +
        `maxBufferSize of ${this.maxBytes} bytes (${(this.maxBytes / MB).toFixed(1)} MB); use a smaller batch`);
    }
    const size = Math.min(bucketBytes(bytes), this.maxBytes);
    let buffer = this.free.get(size)?.pop();
    if (!buffer) {
      buffer = this.guard(label, () => this.device.createBuffer({
        label,
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      }));
      this.sizes.set(buffer, size);
      this.allocatedBytes += size;
      this.buffersCreated++;
    }
    this.inUseBytes += size;
    this.peakInUseBytes = Math.max(this.peakInUseBytes, this.inUseBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    this.inUseBytes -= this.sizeOf(buffer);
    this.pending.push(buffer);
  }

  /** Called right after a submit: everything released before it may be handed out again. */
  submitted(): void {
    for (const buffer of this.pending) {
      const size = this.sizeOf(buffer);
      const list = this.free.get(size) ?? [];
      list.push(buffer);
      this.free.set(size, list);
    }
    this.pending = [];
  }

  /** Destroys the buffers nobody holds; the pool keeps working afterwards. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.allocatedBytes -= this.sizeOf(buffer);
        buffer.destroy();
      }
    }
    this.free.clear();
  }

  private sizeOf(buffer: GPUBuffer): number {
    const size = this.sizes.get(buffer);
    if (size === undefined) throw new Error('BufferPool: buffer does not belong to this pool');
    return size;
  }
}
