// The runtime's handles: a reference-counted pooled GPU buffer (Storage) and a shape over one (DeviceArray).
// Kernels take and return DeviceArrays; the autograd Tensor extends DeviceArray with its graph links.
import type { Engine } from './engine.js';
import { sizeOf, shapeString, type Shape } from './shape.js';

/** A pooled GPUBuffer shared by every array that views it; back to the pool when the last one lets go. */
export class Storage {
  private refs = 1;
  /**
   * Bumped by every write into the buffer after it was first filled: the arrays an Engine.run call lists as
   * `inPlace` (Adam, the moving average, batchnorm's running statistics) and copyInto's destination (checkpoint
   * loads, the spectral-norm u/v update). Autograd records it with each saved array and refuses a backward pass
   * that would read a changed one (as PyTorch's `_version`).
   */
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

/** Row-major strides (in elements) of a contiguous array of `shape`. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

/**
 * float32 (or u32) elements of `shape` over a Storage. Views share the storage through retain(). `strides`
 * (elements per step along each axis) make a strided view, e.g. 0 along an axis expand() broadcast; null means
 * contiguous row-major. Only kernels that declare they read strides (Engine.run's `strided`) see a strided view
 * as it is; the engine hands every other kernel a contiguous copy.
 */
export class DeviceArray {
  readonly size: number;
  /** null when contiguous (row-major over the first `size` elements). */
  readonly strides: readonly number[] | null;
  private released = false;

  constructor(
    readonly engine: Engine,
    readonly shape: Shape,
    readonly storage: Storage,
    strides: readonly number[] | null = null,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`${this.constructor.name}: bad shape ${shapeString(shape)}`);
    }
    this.size = sizeOf(shape);
    if (strides && strides.length !== shape.length) {
      throw new Error(`${this.constructor.name}: ${strides.length} strides for shape ${shapeString(shape)}`);
    }
    this.strides = strides && !sameStrides(strides, contiguousStrides(shape), shape) ? [...strides] : null;
  }

  get isContiguous(): boolean {
    return this.strides === null;
  }

  /** The strides to read it with: its own, or row-major. */
  get readStrides(): readonly number[] {
    return this.strides ?? contiguousStrides(this.shape);
  }

  /** Elements of the storage it can address: 1 + the largest offset (its size when contiguous). */
  get span(): number {
    if (!this.strides) return this.size;
    if (this.size === 0) return 0;
    return 1 + this.shape.reduce((a, d, i) => a + (d - 1) * this.strides![i], 0);
  }

  /** A fresh array with its own (uninitialised) pooled buffer. */
  static empty(engine: Engine, shape: Shape): DeviceArray {
    return new DeviceArray(engine, shape, DeviceArray.allocate(engine, shape));
  }

  /** A new header of `shape` (same number of elements) over a's storage; dispose both. `a` must be contiguous. */
  static view(a: DeviceArray, shape: Shape): DeviceArray {
    if (!a.isContiguous) throw new Error(`${a.describe()} is a strided view: it cannot be reshaped without a copy`);
    return new DeviceArray(a.engine, shape, a.storage.retain());
  }

  /** Storage for `shape`; `upload` when the host will write it with engine.write (see BufferPool.acquire). */
  protected static allocate(engine: Engine, shape: Shape, upload = false): Storage {
    return new Storage(engine, engine.pool.acquire(DeviceArray.bytesOf(sizeOf(shape)), `array ${shapeString(shape)}`, upload));
  }

  /** Bytes an array of `size` elements takes (at least 4: WebGPU has no empty buffers). */
  static bytesOf(size: number): number {
    return Math.max(4, size * 4);
  }

  /** The raw buffer, for copies, reads and writes of a contiguous array; a strided view refuses. */
  get buffer(): GPUBuffer {
    if (!this.isContiguous) {
      throw new Error(`${this.describe()} is a strided view (strides ${shapeString(this.strides!)}): read it through contiguous()`);
    }
    return this.stridedBuffer;
  }

  /** The raw buffer of any array, strided or not: only for code that reads it through readStrides. */
  get stridedBuffer(): GPUBuffer {
    if (this.released) throw new Error(`${this.describe()} was used after dispose()`);
    return this.storage.buffer;
  }

  /** The bytes its elements occupy (the buffer itself may be larger: the pool hands out size buckets). */
  get byteLength(): number {
    return DeviceArray.bytesOf(this.span);
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

  /** Marks the storage as written in place (see Storage.version); a strided view cannot be written. */
  markWritten(): void {
    if (!this.isContiguous) throw new Error(`${this.describe()} is a strided view: it cannot be written in place`);
    this.storage.version++;
  }

  protected describe(): string {
    return `array ${shapeString(this.shape)}`;
  }
}

/** Strides equal along every axis longer than 1 (an axis of length 1 is never stepped along). */
function sameStrides(a: readonly number[], b: readonly number[], shape: Shape): boolean {
  return shape.every((d, i) => d <= 1 || a[i] === b[i]);
}
