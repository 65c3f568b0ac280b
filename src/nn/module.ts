// Module: named parameters, buffers and children, a flat state dict, train/eval mode — as in torch.nn.
import { keep } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { tensor, copyInto } from '../tensor/ops/create.js';
import { readTensor, checkState, type LoadedTensors, type TensorRecord } from './state-dict.js';

export interface StateDictOptions {
  /** Put before every name (a checkpoint holding several models: "generator.", "discriminator."); default ''. */
  prefix?: string;
}

export interface LoadStateDictOptions extends StateDictOptions {
  /** Names the record in errors (a file name or URL); default 'state dict'. */
  source?: string;
}

export abstract class Module {
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** The layer's name and shape, for summaries. */
  describe(): string {
    return this.constructor.name;
  }

  protected parameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.ownParameters.set(name, keep(t));
    return t;
  }

  protected buffer(name: string, t: Tensor): Tensor {
    this.ownBuffers.set(name, keep(t));
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t] of this.ownParameters) out.push([prefix + name, t]);
    for (const [name, m] of this.children) out.push(...m.namedParameters(`${prefix}${name}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t] of this.ownBuffers) out.push([prefix + name, t]);
    for (const [name, m] of this.children) out.push(...m.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, m] of this.children) out.push(...m.namedModules(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters and buffers (batchnorm running statistics) by dotted name, as in PyTorch's state_dict(). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * The state dict read back to the host: { [prefix + name]: { dtype: 'F32', shape, data } }, ready for
   * encodeSafetensors. Like torch's state_dict() followed by a copy to the CPU.
   */
  async readStateDict({ prefix = '' }: StateDictOptions = {}): Promise<TensorRecord> {
    const out: TensorRecord = {};
    for (const [name, t] of this.stateDict()) out[`${prefix}${name}`] = await readTensor(t);
    return out;
  }

  /**
   * Copies every parameter and buffer from `record` (for example decodeSafetensors(bytes).tensors), reading
   * `prefix + name` for each state-dict name — strictly, as torch's load_state_dict(strict=True): every tensor
   * is checked first (present, F32, the model's shape, finite; no unexpected name under `prefix`), and nothing
   * is written unless all pass. Throws CheckpointError naming `source`, the tensor and the problem.
   */
  loadStateDict(record: LoadedTensors, { prefix = '', source = 'state dict' }: LoadStateDictOptions = {}): this {
    const state = [...this.stateDict()];
    const values = checkState(record, prefix, state.map(([name, t]) => [name, t.shape] as const), source);
    for (const [name, t] of state) {
      const src = tensor(t.engine, values.get(prefix + name)!, t.shape);
      copyInto(t, src);
      src.dispose();
    }
    return this;
  }

  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Turns gradient tracking of every parameter on or off (to skip a frozen network's weight gradients). */
  setRequiresGrad(on: boolean): void {
    for (const t of this.parameters()) t.requiresGrad = on;
  }

  /** Releases the GPU memory of every parameter, buffer and gradient. */
  dispose(): void {
    for (const [, t] of this.stateDict()) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}
