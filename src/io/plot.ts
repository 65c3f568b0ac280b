// Loss curves drawn by hand into an RGBA buffer: axes, tick marks with labels in a built-in 3×5 pixel font, light
// grid lines, one polyline per series and a legend. Non-finite values break the line rather than wreck the scale.
import type { Image } from './png.js';
import { writePng } from './png.js';

export type Rgb = [number, number, number];

export interface Series {
  name: string;
  values: number[];
  color: Rgb;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
}

// 3×5 glyphs, rows top to bottom, '1' = ink. Lowercase is drawn as uppercase.
const FONT: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111', '4': '101101111001001',
  '5': '111100111001111', '6': '111100111101111', '7': '111001001001001', '8': '111101111101111', '9': '111101111001111',
  '.': '000000000000010', '-': '000000111000000', '+': '000010111010000', ':': '000010000010000', '/': '001001010100100',
  '_': '000000000000111', '(': '010100100100010', ')': '010001001001010', '=': '000111000111000', '%': '101001010100101',
  ' ': '000000000000000', '?': '111001010000010', ',': '000000000010100',
  A: '010101111101101', B: '110101110101110', C: '011100100100011', D: '110101101101110', E: '111100110100111',
  F: '111100110100100', G: '011100101101011', H: '101101111101101', I: '111010010010111', J: '001001001101010',
  K: '101101110101101', L: '100100100100111', M: '101111111101101', N: '110101101101101', O: '010101101101010',
  P: '110101110100100', Q: '010101101110011', R: '110101110101101', S: '011100010001110', T: '111010010010010',
  U: '101101101101111', V: '101101101101010', W: '101101111111101', X: '101101010101101', Y: '101101010010010',
  Z: '111001010100111',
};

const SCALE = 2; // font pixels per glyph pixel
const ADVANCE = 4 * SCALE;
const GLYPH_H = 5 * SCALE;

class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 4).fill(255);
  }
  set(x: number, y: number, [r, g, b]: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.pixels[i] = r;
    this.pixels[i + 1] = g;
    this.pixels[i + 2] = b;
    this.pixels[i + 3] = 255;
  }
  rect(x0: number, y0: number, w: number, h: number, c: Rgb): void {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.set(x, y, c);
  }
  /** Bresenham line between integer-rounded endpoints. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      this.set(x0, y0, c);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
  /** Pixels in the rectangle that are neither white nor grid gray. */
  inkUnder(x0: number, y0: number, w: number, h: number): number {
    let n = 0;
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) {
        const i = (y * this.width + x) * 4;
        if (this.pixels[i] < 225 || this.pixels[i + 1] < 225 || this.pixels[i + 2] < 225) n++;
      }
    }
    return n;
  }
  text(x: number, y: number, s: string, c: Rgb): void {
    for (const ch of s.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT['?'];
      for (let gy = 0; gy < 5; gy++) for (let gx = 0; gx < 3; gx++) if (glyph[gy * 3 + gx] === '1') this.rect(x + gx * SCALE, y + gy * SCALE, SCALE, SCALE, c);
      x += ADVANCE;
    }
  }
}

export function textWidth(s: string): number {
  return s.length * ADVANCE - SCALE;
}

/** A 1-2-5 step giving about `target` intervals over `span`. */
export function niceStep(span: number, target: number): number {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

export function tickLabel(v: number, step: number): string {
  if (Math.abs(v) < step * 1e-9) return '0';
  if (Math.abs(v) >= 10000 && step >= 1000 && v % 1000 === 0) return `${v / 1000}K`;
  const decimals = Math.max(0, Math.min(8, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

function ticks(lo: number, hi: number, target: number): { values: number[]; step: number } {
  const step = niceStep(hi - lo, target);
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) values.push(k * step);
  return { values, step };
}

const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const FRAME: Rgb = [150, 150, 150];

/** Renders the curves of `series` against step index into an RGBA image. */
export function renderLossCurve(series: Series[], { width = 720, height = 400, title }: PlotOptions = {}): Image {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 160 && height >= 100)) {
    throw new Error(`lossCurvePng: size ${width}×${height} is too small (at least 160×100 whole pixels)`);
  }
  const canvas = new Canvas(width, height);
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  let yLo = finite.length ? finite.reduce((a, b) => Math.min(a, b)) : 0;
  let yHi = finite.length ? finite.reduce((a, b) => Math.max(a, b)) : 1;
  if (yHi === yLo) {
    const d = Math.abs(yLo) * 0.1 || 1;
    yLo -= d;
    yHi += d;
  }
  const margin = (yHi - yLo) * 0.05;
  yLo -= margin;
  yHi += margin;
  const steps = Math.max(2, ...series.map((s) => s.values.length));
  const xHi = steps - 1;

  const yTicks = ticks(yLo, yHi, Math.max(2, Math.floor(height / 60)));
  const yLabels = yTicks.values.map((v) => tickLabel(v, yTicks.step));
  const left = 12 + Math.max(...yLabels.map(textWidth)) + 6;
  const top = title ? 16 + GLYPH_H : 12;
  const right = width - 16;
  const bottom = height - (14 + GLYPH_H);
  if (right - left < 40 || bottom - top < 40) throw new Error(`lossCurvePng: size ${width}×${height} leaves no room for the plot`);
  const px = (i: number) => left + (i / xHi) * (right - left);
  const py = (v: number) => bottom - ((v - yLo) / (yHi - yLo)) * (bottom - top);

  yTicks.values.forEach((v, k) => {
    const y = Math.round(py(v));
    canvas.line(left + 1, y, right, y, GRID);
    canvas.line(left - 5, y, left - 1, y, BLACK);
    canvas.text(left - 7 - textWidth(yLabels[k]), y - GLYPH_H / 2, yLabels[k], BLACK);
  });
  const xTicks = ticks(0, xHi, Math.max(2, Math.floor(width / 110)));
  for (const v of xTicks.values) {
    const x = Math.round(px(v));
    canvas.line(x, bottom + 1, x, bottom + 5, BLACK);
    const label = tickLabel(v, xTicks.step);
    canvas.text(Math.min(width - textWidth(label) - 1, Math.max(0, x - textWidth(label) / 2)), bottom + 8, label, BLACK);
  }

  for (const s of series) {
    let prev: [number, number] | null = null;
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v)) {
        prev = null;
        continue;
      }
      const point: [number, number] = [px(i), py(v)];
      if (prev) canvas.line(prev[0], prev[1], point[0], point[1], s.color);
      else canvas.set(point[0], point[1], s.color);
      prev = point;
    }
  }
  canvas.line(left, top, left, bottom, BLACK);
  canvas.line(left, bottom, right, bottom, BLACK);

  if (title) canvas.text(Math.max(0, Math.round((width - textWidth(title)) / 2)), 8, title, BLACK);
  if (series.length > 0) {
    const boxW = 30 + Math.max(...series.map((s) => textWidth(s.name)));
    const boxH = 6 + series.length * (GLYPH_H + 6);
    // the plot corner whose box would hide the fewest drawn pixels
    const corners: [number, number][] = [[right - boxW - 6, top + 6], [left + 8, top + 6], [right - boxW - 6, bottom - boxH - 6], [left + 8, bottom - boxH - 6]];
    const [x0, y0] = corners.reduce((best, c) => (canvas.inkUnder(c[0], c[1], boxW, boxH) < canvas.inkUnder(best[0], best[1], boxW, boxH) ? c : best));
    canvas.rect(x0, y0, boxW, boxH, [255, 255, 255]);
    canvas.line(x0, y0, x0 + boxW, y0, FRAME);
    canvas.line(x0, y0 + boxH, x0 + boxW, y0 + boxH, FRAME);
    canvas.line(x0, y0, x0, y0 + boxH, FRAME);
    canvas.line(x0 + boxW, y0, x0 + boxW, y0 + boxH, FRAME);
    series.forEach((s, k) => {
      const y = y0 + 6 + k * (GLYPH_H + 6);
      canvas.rect(x0 + 6, y + GLYPH_H / 2 - 1, 14, 3, s.color);
      canvas.text(x0 + 24, y, s.name, BLACK);
    });
  }
  return { width, height, pixels: canvas.pixels };
}

/** Renders `series` (see `renderLossCurve`) and writes it as an RGBA PNG. */
export function lossCurvePng(path: string, series: Series[], options: PlotOptions = {}): void {
  const image = renderLossCurve(series, options);
  writePng(path, image.width, image.height, image.pixels);
}
