// A Tensor is a runtime DeviceArray (a shape over a reference-counted GPU buffer; views share it) plus the
// autograd links: the tensors it was computed from and a closure mapping its gradient to theirs.
import type { Engine } from '../runtime/engine.js';
import { DeviceArray, type Storage } from '../runtime/storage.js';
import { shapeString, type Shape } from '../runtime/shape.js';
import { autogradState } from './state.js';

export { Storage } from '../runtime/storage.js';
export { sizeOf, shapeString, type Shape } from '../runtime/shape.js';

/** Maps the gradient of an op's output to the gradients of its inputs (null where none is needed). */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export class Tensor extends DeviceArray {
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The inputs this tensor was computed from, and how its gradient flows to them. */
  parents: Tensor[] = [];
  backwardFn: BackwardFn | null = null;
  /** Names the op that made this tensor, for error messages and debugging. */
  op = 'leaf';
  /** Intermediates that only this tensor's backward reads (a conv's unfolded input); disposed with it. */
  saved: Tensor[] = [];

  constructor(engine: Engine, shape: Shape, storage: Storage) {
    super(engine, shape, storage);
    const scopes = autogradState(engine).scopes;
    scopes[scopes.length - 1]?.add(this);
  }

  /** A fresh tensor with its own (uninitialised) pooled buffer. */
  static override empty(engine: Engine, shape: Shape): Tensor {
    return new Tensor(engine, shape, DeviceArray.allocate(engine, shape));
  }

  /** The tensor owning a kernel's result: takes over its storage (no retain); `a` is unusable afterwards. */
  static adopt(a: DeviceArray): Tensor;
  static adopt(a: DeviceArray | null): Tensor | null;
  static adopt(a: DeviceArray | null): Tensor | null {
    return a && new Tensor(a.engine, a.shape, a.moveStorage());
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

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    for (const scope of autogradState(this.engine).scopes) scope.delete(this);
    for (const t of this.saved) t.dispose();
  }

  override toString(): string {
    return `Tensor[${this.shape.join('×')}] (${this.op})`;
  }

  protected override describe(): string {
    return `Tensor ${shapeString(this.shape)} (${this.op})`;
  }
}
