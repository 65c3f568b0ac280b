// Differentiable 2-D matrix product C = op(A)·op(B). Both gradients are matrix products themselves, with the
// transposes expressed through the kernel's flags, so no transpose kernel is ever needed.
import { record } from '../graph.js';
import { Tensor } from '../tensor.js';
import { matmulKernel } from '../../kernels/matmul.js';

export interface MatmulOpOptions {
  /** Use Aᵀ: A is stored [K, M]. */
  transposeA?: boolean;
  /** Use Bᵀ: B is stored [N, K]. */
  transposeB?: boolean;
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOpOptions = {}): Tensor {
  const ta = opts.transposeA ?? false;
  const tb = opts.transposeB ?? false;
  const c = Tensor.adopt(matmulKernel(a, b, { transposeA: ta, transposeB: tb }));
  return record(c, 'matmul', [a, b], (g, s) => [
    // d op(A) = dC·op(B)ᵀ; A stored transposed wants its transpose, op(B)·dCᵀ.
    s.b
      ? Tensor.adopt(ta
        ? matmulKernel(s.b, g, { transposeA: tb, transposeB: true })
        : matmulKernel(g, s.b, { transposeB: !tb }))
      : null,
    // d op(B) = op(A)ᵀ·dC; B stored transposed wants dCᵀ·op(A).
    s.a
      ? Tensor.adopt(tb
        ? matmulKernel(g, s.a, { transposeA: true, transposeB: ta })
        : matmulKernel(s.a, g, { transposeA: !ta }))
      : null,
  ], { a: b.requiresGrad ? a : null, b: a.requiresGrad ? b : null });
}
