// A Tensor is a shape over a reference-counted GPU buffer (views share it), plus the autograd links:
// the tensors it was computed from and a closure mapping its gradient to theirs.
import type { Engine } from './engine.js';

export type Shape = readonly number[];

/** Maps the gradient of an op's output to the gradients of its inputs (null where none is needed). */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export class Storage {
  private refs = 1;
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

export class Tensor {
  readonly size: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The inputs this tensor was computed from, and how its gradient flows to them. */
  parents: Tensor[] = [];
  backwardFn: BackwardFn | null = null;
  /** Names the op that made this tensor, for error messages and debugging. */
  op = 'leaf';
  /** Intermediates that only this tensor's backward reads (a conv's unfolded input); disposed with it. */
  saved: Tensor[] = [];
  private disposed = false;

  constructor(
    readonly engine: Engine,
    readonly shape: Shape,
    readonly storage: Storage,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`Tensor: bad shape [${shape.join(', ')}]`);
    }
    this.size = shape.reduce((a, b) => a * b, 1);
    engine.scopes[engine.scopes.length - 1]?.add(this);
  }

  /** A fresh tensor with its own (uninitialised) pooled buffer. */
  static empty(engine: Engine, shape: Shape): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return new Tensor(engine, shape, new Storage(engine, engine.pool.acquire(Math.max(4, size * 4))));
  }

  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`Tensor [${this.shape.join(', ')}] (${this.op}) was used after dispose()`);
    return this.storage.buffer;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Copies the values to the CPU. Submits pending GPU work first. */
  async toArray(): Promise<Float32Array> {
    return new Float32Array(await this.engine.read(this.buffer, this.size * 4));
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has ${this.size} elements, shape [${this.shape.join(', ')}]`);
    return (await this.toArray())[0];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storage.release();
    for (const scope of this.engine.scopes) scope.delete(this);
    for (const t of this.saved) t.dispose();
  }

  toString(): string {
    return `Tensor[${this.shape.join('×')}] (${this.op})`;
  }
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
