// Spectral normalisation (Miyato et al. 2018): a convolution whose weight, seen as an out × (in·k·k) matrix W,
// is divided by an estimate of its largest singular value σ. As in PyTorch, the estimate is kept by one step of
// power iteration per training forward pass on the buffers u and v, and σ = uᵀ W v is differentiated through W
// only (u and v are constants of the step). In eval mode u and v stay as they are.
// Each training forward differentiates through its own u and v, not the buffers: GanTrainer runs D twice (real,
// then fake) before one backward, and the second pass overwrites the buffers (which would give the first pass's
// weight gradient the second pass's u and v; the buffers' version check now refuses that).
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad, tidy } from '../tensor/autograd.js';
import { randn, copyInto } from '../tensor/ops/create.js';
import { addScalar, div, mul, sqrt, square } from '../tensor/ops/elementwise.js';
import { matmul } from '../tensor/ops/matmul.js';
import { sum } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import { Conv2d, type ConvOptions } from './layers.js';

/** x / ‖x‖ for a column [n, 1]. */
function unit(x: Tensor): Tensor {
  return div(x, reshape(addScalar(sqrt(sum(square(x))), 1e-12), [1, 1]));
}

/** uᵀ W v for W [m, n], u [m, 1], v [n, 1]: differentiable in all three (the layer holds u and v constant). */
export function sigmaOf(W: Tensor, u: Tensor, v: Tensor): Tensor {
  return sum(mul(u, matmul(W, v)));
}

export class SpectralNormConv2d extends Conv2d {
  readonly u: Tensor;
  readonly v: Tensor;

  constructor(engine: Engine, inChannels: number, outChannels: number, kernelSize: number, options: ConvOptions = {}) {
    super(engine, inChannels, outChannels, kernelSize, options);
    const columns = inChannels * kernelSize * kernelSize;
    this.u = this.buffer('weight_u', noGrad(engine, () => tidy(engine, () => unit(randn(engine, [outChannels, 1])))));
    this.v = this.buffer('weight_v', noGrad(engine, () => tidy(engine, () => unit(randn(engine, [columns, 1])))));
  }

  /**
   * σ = uᵀ W v, differentiable in the weight. Training: after this step's power iteration, with this pass's own
   * u and v (the buffers get copies). Eval: with the buffers, which stay as they are.
   */
  sigma(): Tensor {
    const engine = this.weight.engine;
    const W = reshape(this.weight, [this.outChannels, this.v.shape[0]]);
    if (!this.training) return sigmaOf(W, this.u, this.v);
    const [u, v] = noGrad(engine, () => tidy(engine, () => {
      const v = unit(matmul(W, this.u, { transposeA: true }));
      const u = unit(matmul(W, v));
      copyInto(this.v, v);
      copyInto(this.u, u);
      return [u, v];
    }));
    return sigmaOf(W, u, v);
  }

  override forward(x: Tensor): Tensor {
    return this.convolve(x, div(this.weight, reshape(this.sigma(), [1, 1, 1, 1])));
  }

  override describe(): string {
    return `SpectralNorm(${super.describe()})`;
  }
}
