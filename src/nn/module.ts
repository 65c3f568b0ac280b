// Module: named parameters, buffers and children, a flat state dict, train/eval mode — as in torch.nn.
import { keep } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

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
