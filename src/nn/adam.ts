// Adam over a module's parameters: one fused dispatch per parameter updates p, m and v in place.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/autograd.js';
import { zeros } from '../tensor/ops/create.js';
import { adamKernel } from '../kernels/adam.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  readonly m: Tensor[];
  readonly v: Tensor[];
  step = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(engine: Engine, readonly params: Tensor[], readonly options: AdamOptions) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    for (const [name, value] of [['lr', options.lr], ['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(value >= 0) || (name !== 'lr' && value >= 1)) throw new Error(`Adam: ${name} = ${value} is out of range`);
    }
    this.m = params.map((p) => keep(zeros(engine, p.shape)));
    this.v = params.map((p) => keep(zeros(engine, p.shape)));
  }

  /** Applies one update from the parameters' .grad, then clears the gradients. */
  update(): void {
    this.step++;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      adamKernel(p, p.grad, this.m[i], this.v[i], {
        lr: this.options.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps,
        step: this.step, weightDecay: this.options.weightDecay ?? 0,
      });
    });
    this.zeroGrad();
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  dispose(): void {
    this.zeroGrad();
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
