// A Tensor is a runtime DeviceArray (a shape over a reference-counted GPU buffer; views share it) plus the
// autograd links: the tensors it was computed from, a closure mapping its gradient to theirs, and the arrays
// that closure reads (saved for backward, held by reference count until backward() passes the node).
import type { Engine } from '../runtime/engine.js';
import { DeviceArray, type Storage } from '../runtime/storage.js';
import { contiguousCopy } from '../runtime/contiguous.js';
import { shapeString, type Shape } from '../runtime/shape.js';
import { autogradState } from './state.js';

export { Storage } from '../runtime/storage.js';
export { sizeOf, shapeString, type Shape } from '../runtime/shape.js';

/** What an op hands record() for its backward: named arrays (inputs, outputs, intermediates), or null. */
export type SavedInputs = Record<string, DeviceArray | null>;
/** The same names as the backward sees them: held handles over the same storage. */
export type Saved<S extends SavedInputs> = { [K in keyof S]: null extends S[K] ? DeviceArray | null : DeviceArray };

/**
 * Maps the gradient of an op's output to the gradients of its inputs (null where none is needed). record()
 * binds it to the node's saved arrays, checking them first (graph.ts savedFor).
 */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

/** One array a node saved: a handle of its own on the storage, and the storage's version when it was saved. */
export interface SavedSlot {
  name: string;
  handle: DeviceArray;
  version: number;
}

export class Tensor extends DeviceArray {
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The inputs this tensor was computed from, and how its gradient flows to them. */
  parents: Tensor[] = [];
  backwardFn: BackwardFn | null = null;
  /** Names the op that made this tensor, for error messages and debugging. */
  op = 'leaf';
  /**
   * What backwardFn reads (see graph.ts record()): each a retained handle, so the arrays live while the node may
   * still be differentiated, whoever else lets go of them. Released once backward() has passed the node
   * (`savedState` 'released') or when the tensor is disposed.
   */
  saved: SavedSlot[] = [];
  savedState: 'held' | 'released' = 'held';
  /** Set by keep(): no tidy() scope, enclosing ones included, disposes or adopts it. */
  kept = false;

  constructor(engine: Engine, shape: Shape, storage: Storage, strides: readonly number[] | null = null) {
    super(engine, shape, storage, strides);
    const scopes = autogradState(engine).scopes;
    scopes[scopes.length - 1]?.add(this);
  }

  /** A fresh tensor with its own (uninitialised) pooled buffer; `upload` when the host will write its values. */
  static override empty(engine: Engine, shape: Shape, upload = false): Tensor {
    return new Tensor(engine, shape, DeviceArray.allocate(engine, shape, upload));
  }

  /** The tensor owning a kernel's result: takes over its storage (no retain); `a` is unusable afterwards. */
  static adopt(a: DeviceArray): Tensor;
  static adopt(a: DeviceArray | null): Tensor | null;
  static adopt(a: DeviceArray | null): Tensor | null {
    return a && new Tensor(a.engine, a.shape, a.moveStorage(), a.strides);
  }

  /** Copies the values to the CPU (a strided view through a contiguous copy). Submits pending GPU work first. */
  async toArray(): Promise<Float32Array> {
    if (this.isContiguous) return new Float32Array(await this.engine.read(this.buffer, this.size * 4));
    const copy = contiguousCopy(this);
    try {
      return new Float32Array(await this.engine.read(copy.buffer, this.size * 4));
    } finally {
      copy.dispose();
    }
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has ${this.size} elements, shape [${this.shape.join(', ')}]`);
    return (await this.toArray())[0];
  }

  /** Lets go of the saved arrays (after backward() passed this node, or on dispose). */
  releaseSaved(): void {
    for (const slot of this.saved) slot.handle.dispose();
    this.saved = [];
    this.savedState = 'released';
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    for (const scope of autogradState(this.engine).scopes) scope.delete(this);
    this.releaseSaved();
  }

  override toString(): string {
    return `Tensor[${this.shape.join('×')}] (${this.op})`;
  }

  protected override describe(): string {
    return `Tensor ${shapeString(this.shape)} (${this.op})`;
  }
}
