// Adam over a module's parameters: one fused dispatch per parameter updates p, m and v in place.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/autograd.js';
import { zeros } from '../tensor/ops/create.js';
import { adamKernel } from '../kernels/adam.js';

/** Adam's settings; every one is optional and defaults to PyTorch's torch.optim.Adam. */
export interface AdamOptions {
  /** Learning rate; default 1e-3. */
  lr?: number;
  /** Decay of the first-moment average; default 0.9. */
  beta1?: number;
  /** Decay of the second-moment average; default 0.999. */
  beta2?: number;
  /** Added to √v; default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient (not AdamW's decoupled decay); default 0. */
  weightDecay?: number;
}

export class Adam {
  readonly m: Tensor[];
  readonly v: Tensor[];
  step = 0;
  /** The learning rate of the next update (a schedule may change it between steps). */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  /**
   * Adam (Kingma & Ba 2015) over `params`, with PyTorch's defaults for every option left out:
   * `new Adam(engine, params)` is torch.optim.Adam(params) (lr 1e-3, betas (0.9, 0.999), eps 1e-8).
   * Throws when lr < 0, a beta is outside [0, 1), or eps or weightDecay < 0.
   */
  constructor(engine: Engine, readonly params: Tensor[], readonly options: AdamOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    this.weightDecay = options.weightDecay ?? 0;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    for (const [name, value] of [['lr', this.lr], ['beta1', this.beta1], ['beta2', this.beta2], ['eps', this.eps], ['weightDecay', this.weightDecay]] as const) {
      if (!(value >= 0) || (name.startsWith('beta') && value >= 1)) throw new Error(`Adam: ${name} = ${value} is out of range`);
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
        lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps,
        step: this.step, weightDecay: this.weightDecay,
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
