// The runtime's handles: a reference-counted pooled GPU buffer (Storage) and a shape over one (DeviceArray).
// Kernels take and return DeviceArrays; the autograd Tensor extends DeviceArray with its graph links.
import type { Engine } from './engine.js';
import { sizeOf, shapeString, type Shape } from './shape.js';

/** A pooled GPUBuffer shared by every array that views it; back to the pool when the last one lets go. */
export class Storage {
  private refs = 1;
  /** Bumped by writers that mutate the buffer in place (reserved: nothing reads it yet). */
  version = 0;
  constructor(
    readonly engine: Engine,
    readonly buffer: GPUBuffer,
  ) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) this.engine.pool.release(this.buffer);
  }
}

/** float32 (or u32) elements of `shape` over a Storage. Views share the storage through retain(). */
export class DeviceArray {
  readonly size: number;
  private released = false;

  constructor(
    readonly engine: Engine,
    readonly shape: Shape,
    readonly storage: Storage,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`${this.constructor.name}: bad shape ${shapeString(shape)}`);
    }
    this.size = sizeOf(shape);
  }

  /** A fresh array with its own (uninitialised) pooled buffer. */
  static empty(engine: Engine, shape: Shape): DeviceArray {
    return new DeviceArray(engine, shape, DeviceArray.allocate(engine, shape));
  }

  /** A new header of `shape` (same number of elements) over a's storage; dispose both. */
  static view(a: DeviceArray, shape: Shape): DeviceArray {
    return new DeviceArray(a.engine, shape, a.storage.retain());
  }

  protected static allocate(engine: Engine, shape: Shape): Storage {
    return new Storage(engine, engine.pool.acquire(DeviceArray.bytesOf(sizeOf(shape)), `array ${shapeString(shape)}`));
  }

  /** Bytes an array of `size` elements takes (at least 4: WebGPU has no empty buffers). */
  static bytesOf(size: number): number {
    return Math.max(4, size * 4);
  }

  get buffer(): GPUBuffer {
    if (this.released) throw new Error(`${this.describe()} was used after dispose()`);
    return this.storage.buffer;
  }

  /** The bytes its elements occupy (the buffer itself may be larger: the pool hands out size buckets). */
  get byteLength(): number {
    return DeviceArray.bytesOf(this.size);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.released;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.storage.release();
  }

  /**
   * Hands this array's storage reference over to a new owner (an autograd Tensor) without a retain: this
   * header is unusable afterwards.
   */
  moveStorage(): Storage {
    if (this.released) throw new Error(`${this.describe()} was moved after dispose()`);
    this.released = true;
    return this.storage;
  }

  protected describe(): string {
    return `array ${shapeString(this.shape)}`;
  }
}
