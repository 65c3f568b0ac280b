// A size-bucketed pool of storage buffers. A buffer released while commands are being recorded can be handed out
// again at once for work recorded after them (the GPU runs recorded commands in order), but not for an upload:
// queue.writeBuffer runs at submit, before every command recorded so far, so an upload could overwrite values the
// earlier commands still read. Those buffers become free for uploads too once the recording is submitted.
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
  /** Free for anything. */
  private free = new Map<number, GPUBuffer[]>();
  /** Released during the open recording: free for GPU-written results recorded from now on, not for uploads. */
  private recycled = new Map<number, GPUBuffer[]>();
  /** Handed out from `recycled` during the open recording: an upload into one would overtake its earlier readers. */
  private reusedInRecording = new Set<GPUBuffer>();
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

  /**
   * A buffer of at least `bytes`; `label` names what it is for in the error thrown when it cannot exist. With
   * `upload`, the buffer will be written by queue.writeBuffer, so only one nothing recorded still reads is given.
   */
  acquire(bytes: number, label = 'buffer', upload = false): GPUBuffer {
    if (bytes > this.maxBytes) {
      throw new Error(`${label}: needs a buffer of ${bytes} bytes (${(bytes / MB).toFixed(1)} MB), over this device's ` +
        `maxBufferSize of ${this.maxBytes} bytes (${(this.maxBytes / MB).toFixed(1)} MB); use a smaller batch`);
    }
    const size = Math.min(bucketBytes(bytes), this.maxBytes);
    let buffer = upload ? undefined : this.recycled.get(size)?.pop();
    if (buffer) this.reusedInRecording.add(buffer);
    buffer ??= this.free.get(size)?.pop();
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
    const size = this.sizeOf(buffer);
    this.inUseBytes -= size;
    push(this.recycled, size, buffer);
  }

  /** Whether a queue.writeBuffer into `buffer` now could overtake recorded commands that read its earlier values. */
  uploadWouldOvertake(buffer: GPUBuffer): boolean {
    return this.reusedInRecording.has(buffer);
  }

  /** Called right after a submit: everything released before it is free for uploads too. */
  submitted(): void {
    for (const [size, list] of this.recycled) for (const buffer of list) push(this.free, size, buffer);
    this.recycled.clear();
    this.reusedInRecording.clear();
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

function push(lists: Map<number, GPUBuffer[]>, size: number, buffer: GPUBuffer): void {
  const list = lists.get(size);
  if (list) list.push(buffer);
  else lists.set(size, [buffer]);
}
