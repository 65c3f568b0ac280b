// Every unary op, declared once: its code (the OP override of unary.wgsl and unary_grad.wgsl), the WGSL of f
// and of f', and float64 references for the tests. The shaders' `switch OP` cases are generated from this table.

export interface UnaryOpSpec {
  /** The value of the OP override constant. */
  readonly code: number;
  /** WGSL for f(v), v: T (f32 or vec4f); the op's scalar is `u.alpha`. */
  readonly f: string;
  /** WGSL for f'(x) from xv = x and yv = f(x) (whichever is cheaper), and `u.alpha`; null: no gradient (0). */
  readonly df: string | null;
  /** float64 f(x). */
  readonly reference: (x: number, alpha: number) => number;
  /** float64 f'(x). */
  readonly derivative: (x: number, alpha: number) => number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const unaryOps = {
  neg: { code: 0, f: '-v', df: 'T(-1.0)', reference: (x) => -x, derivative: () => -1 },
  exp: { code: 1, f: 'exp(v)', df: 'yv', reference: Math.exp, derivative: Math.exp },
  log: { code: 2, f: 'log(v)', df: '1.0 / xv', reference: Math.log, derivative: (x) => 1 / x },
  sqrt: { code: 3, f: 'sqrt(v)', df: '0.5 / yv', reference: Math.sqrt, derivative: (x) => 0.5 / Math.sqrt(x) },
  relu: { code: 4, f: 'max(v, T(0.0))', df: 'select(T(0.0), T(1.0), xv > T(0.0))', reference: (x) => Math.max(x, 0), derivative: (x) => (x > 0 ? 1 : 0) },
  leakyRelu: {
    code: 5, f: 'select(v * u.alpha, v, v > T(0.0))', df: 'select(T(u.alpha), T(1.0), xv > T(0.0))',
    reference: (x, a) => (x > 0 ? x : a * x), derivative: (x, a) => (x > 0 ? 1 : a),
  },
  // Clamped: some implementations' tanh (Chromium's WebGPU on SwiftShader) compute exp(2v) and give NaN from |v| ≈ 89; in
  // f32, tanh(±15) is already ±1 exactly, so the clamp changes no finite result.
  tanh: { code: 6, f: 'tanh(clamp(v, T(-15.0), T(15.0)))', df: '1.0 - yv * yv', reference: Math.tanh, derivative: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { code: 7, f: '1.0 / (1.0 + exp(-v))', df: 'yv * (1.0 - yv)', reference: sigmoid, derivative: (x) => sigmoid(x) * (1 - sigmoid(x)) },
  addScalar: { code: 8, f: 'v + u.alpha', df: 'T(1.0)', reference: (x, a) => x + a, derivative: () => 1 },
  mulScalar: { code: 9, f: 'v * u.alpha', df: 'T(u.alpha)', reference: (x, a) => x * a, derivative: (_, a) => a },
  constant: { code: 10, f: 'T(u.alpha)', df: null, reference: (_, a) => a, derivative: () => 0 },
  square: { code: 11, f: 'v * v', df: '2.0 * xv', reference: (x) => x * x, derivative: (x) => 2 * x },
} as const satisfies Record<string, UnaryOpSpec>;

export type UnaryOpName = keyof typeof unaryOps;

/** Op codes by name (the OP override of unary.wgsl and unary_grad.wgsl). */
export const UnaryOp = Object.fromEntries(Object.entries(unaryOps).map(([name, op]) => [name, op.code])) as {
  readonly [K in UnaryOpName]: (typeof unaryOps)[K]['code'];
};

const specs: [string, UnaryOpSpec][] = Object.entries(unaryOps);

/** The `case`s of unary.wgsl's `switch OP` (its UNARY_CASES define). */
export const unaryCases = specs.map(([name, op]) => `    case ${op.code}u { return ${op.f}; } // ${name}`).join('\n');

/** The `case`s of unary_grad.wgsl's `switch OP` (its UNARY_GRAD_CASES define); ops without a gradient fall to 0. */
export const unaryGradCases = specs
  .filter(([, op]) => op.df !== null)
  .map(([name, op]) => `    case ${op.code}u { return ${op.df}; } // ${name}`)
  .join('\n');
