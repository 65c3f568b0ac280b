// The sizes of one 2-D convolution (NCHW input, [Cout, Cin, kH, kW] weight), shared by every conv kernel and
// packed into the same uniform block so all conv shaders can declare one `Params` struct.
import { Params } from '../runtime/params.js';
import { shapeString, type Shape } from '../runtime/shape.js';

export type ConvAlgorithm = 'naive' | 'fast';

export interface ConvOptions {
  stride: number;
  padding: number;
  /** Overrides convConfig.algorithm for this call. */
  algorithm?: ConvAlgorithm;
}

export interface ConvGeometry {
  n: number; cin: number; h: number; w: number;
  cout: number; kh: number; kw: number;
  oh: number; ow: number;
  stride: number; pad: number;
}

export function convOutputSize(input: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((input + 2 * padding - kernel) / stride) + 1;
}

/** Geometry of a conv of `inputShape` by `weightShape`; throws when they don't fit together. */
export function convGeometry(op: string, inputShape: Shape, weightShape: Shape, stride: number, padding: number): ConvGeometry {
  if (inputShape.length !== 4 || weightShape.length !== 4) {
    throw new Error(`${op}: needs a rank-4 input and weight, got ${shapeString(inputShape)} and ${shapeString(weightShape)}`);
  }
  const [n, cin, h, w] = inputShape;
  const [cout, wcin, kh, kw] = weightShape;
  if (wcin !== cin) throw new Error(`${op}: input has ${cin} channels but weight ${shapeString(weightShape)} expects ${wcin}`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`${op}: stride must be an integer ≥ 1, got ${stride}`);
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`${op}: padding must be an integer ≥ 0, got ${padding}`);
  const oh = convOutputSize(h, kh, stride, padding);
  const ow = convOutputSize(w, kw, stride, padding);
  if (oh < 1 || ow < 1) {
    throw new Error(`${op}: input ${shapeString(inputShape)} with weight ${shapeString(weightShape)}, stride ${stride}, padding ${padding} gives an empty ${oh}×${ow} output`);
  }
  return { n, cin, h, w, cout, kh, kw, oh, ow, stride, pad: padding };
}

export function convOutputShape(g: ConvGeometry): number[] {
  return [g.n, g.cout, g.oh, g.ow];
}

/** Throws unless `shape` is the conv's output shape (for gradients passed in from outside). */
export function expectOutputShape(op: string, what: string, shape: Shape, g: ConvGeometry): void {
  const want = convOutputShape(g);
  if (shape.length !== 4 || shape.some((d, i) => d !== want[i])) {
    throw new Error(`${op}: ${what} has shape ${shapeString(shape)} but the convolution's output is ${shapeString(want)}`);
  }
}

/** The geometry as override constants (im2col, col2im): one pipeline per conv shape, divisions by constants. */
export function convConstants(g: ConvGeometry): Record<string, number> {
  return { N: g.n, CIN: g.cin, H: g.h, W: g.w, KH: g.kh, KW: g.kw, OH: g.oh, OW: g.ow, STRIDE: g.stride, PAD: g.pad };
}

/** The uniform block the naive conv shaders declare as `Params`. */
export function convParams(g: ConvGeometry): ArrayBuffer {
  return new Params().u32(g.n, g.cin, g.h, g.w, g.cout, g.kh, g.kw, g.oh, g.ow, g.stride, g.pad).buffer;
}

/** A dispatch label under a plan's label: 'conv2d.forward[gemm]' + 'im2col' → 'conv2d.forward[gemm]:im2col'. */
export function labelled(label: string | undefined, step: string): string | undefined {
  return label ? `${label}:${step}` : undefined;
}
