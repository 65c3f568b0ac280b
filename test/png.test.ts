import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { imageGrid, sideBySide, writePng, encodePng } from '../src/io/png.js';
import { renderLossCurve, lossCurvePng, niceStep, tickLabel, type Series } from '../src/io/plot.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-png-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readPng = (path: string) => PNG.sync.read(readFileSync(path));

/** Plain-loop reference for imageGrid: value → round((v − lo)·255/(hi − lo)) clamped, NaN → 0. */
function gridReference(images: ArrayLike<number>, count: number, h: number, w: number, cols: number, pad: number, [lo, hi]: [number, number], padValue: number) {
  const rows = Math.ceil(count / cols);
  const width = cols * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const px: number[] = new Array(width * height).fill(padValue);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = images[n * h * w + y * w + x];
        let b = Math.round(((v - lo) / (hi - lo)) * 255);
        b = Number.isNaN(b) ? 0 : Math.min(255, Math.max(0, b));
        px[(pad + Math.floor(n / cols) * (h + pad) + y) * width + pad + (n % cols) * (w + pad) + x] = b;
      }
    }
  }
  return { width, height, pixels: px };
}

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 2.3 + seed) * 1.3); // beyond [-1, 1] to exercise clamping

describe('imageGrid', () => {
  it('tiles with padding, maps [-1, 1] to [0, 255] and clamps', () => {
    for (const [count, h, w, cols, pad] of [[5, 3, 4, undefined, 2], [1, 7, 5, undefined, 0], [7, 5, 3, 4, 1], [3, 2, 2, 1, 3]] as const) {
      const images = values(count * h * w, count);
      images[0] = NaN;
      images[1] = -1;
      images[2] = 1;
      const grid = imageGrid(images, count, h, w, { cols, pad });
      const c = cols ?? Math.ceil(Math.sqrt(count));
      const ref = gridReference(images, count, h, w, c, pad, [-1, 1], 0);
      expect([grid.width, grid.height], `${count} ${h}×${w}`).toEqual([ref.width, ref.height]);
      expect(Array.from(grid.pixels)).toEqual(ref.pixels);
      expect(grid.pixels[pad * grid.width + pad + 1]).toBe(0);
      if (w > 2) expect(grid.pixels[pad * grid.width + pad + 2]).toBe(255);
    }
    const g = imageGrid(values(5 * 3 * 4, 1), 5, 3, 4);
    expect([g.width, g.height]).toEqual([3 * 6 + 2, 2 * 5 + 2]);
  });

  it('honours another range and pad value', () => {
    const images = Float32Array.from([0, 0.5, 1, 2, -1, 0.25]);
    const grid = imageGrid(images, 2, 1, 3, { range: [0, 1], padValue: 77, cols: 2, pad: 1 });
    expect(Array.from(grid.pixels)).toEqual(gridReference(images, 2, 1, 3, 2, 1, [0, 1], 77).pixels);
    expect(Array.from(grid.pixels.subarray(grid.width, 2 * grid.width))).toEqual([77, 0, 128, 255, 77, 255, 0, 64, 77]);
  });

  it('refuses inconsistent arguments', () => {
    expect(() => imageGrid(new Float32Array(10), 3, 2, 2)).toThrow(/imageGrid: 3 images of 2×2 need 12 values, got 10/);
    expect(() => imageGrid(new Float32Array(10), 0, 2, 2)).toThrow(/count must be a whole number ≥ 1, got 0/);
    expect(() => imageGrid(new Float32Array(12), 3, 2, 2, { range: [1, 1] })).toThrow(/range \[1, 1\] is empty/);
    expect(() => imageGrid(new Float32Array(12), 3, 2, 2, { cols: 0 })).toThrow(/cols must be a whole number/);
  });
});

describe('writePng', () => {
  it('writes gray images that read back with the same pixels', () => {
    const grid = imageGrid(values(6 * 5 * 7, 3), 6, 5, 7, { cols: 4 });
    const path = join(dir, 'out', 'grid.png');
    writePng(path, grid.width, grid.height, grid.pixels);
    const png = readPng(path);
    expect([png.width, png.height, png.colorType]).toEqual([grid.width, grid.height, 0]);
    for (let i = 0; i < grid.pixels.length; i++) {
      expect([png.data[4 * i], png.data[4 * i + 1], png.data[4 * i + 2], png.data[4 * i + 3]]).toEqual([grid.pixels[i], grid.pixels[i], grid.pixels[i], 255]);
    }
  });

  it('writes RGB and RGBA, choosing the channels from the length', () => {
    const w = 3;
    const h = 2;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 41) & 255);
    const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 53 + 9) & 255);
    const a = PNG.sync.read(Buffer.from(encodePng(w, h, rgb)));
    const b = PNG.sync.read(Buffer.from(encodePng(w, h, rgba)));
    expect(a.colorType).toBe(2);
    expect(b.colorType).toBe(6);
    for (let p = 0; p < w * h; p++) {
      expect(Array.from(a.data.subarray(4 * p, 4 * p + 3))).toEqual(Array.from(rgb.subarray(3 * p, 3 * p + 3)));
    }
    expect(Array.from(b.data)).toEqual(Array.from(rgba));
    expect(() => encodePng(w, h, new Uint8Array(7))).toThrow(/7 bytes do not fit a 3×2 image/);
  });

  it('sideBySide places images left to right with a gap', () => {
    const a = { width: 2, height: 3, pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    const b = { width: 1, height: 2, pixels: Uint8Array.from([7, 8]) };
    const s = sideBySide([a, b], 1, 9);
    expect([s.width, s.height]).toEqual([4, 3]);
    expect(Array.from(s.pixels)).toEqual([1, 2, 9, 7, 3, 4, 9, 8, 5, 6, 9, 9]);
  });
});

describe('loss curve plot', () => {
  const series: Series[] = [
    { name: 'loss D', values: Array.from({ length: 300 }, (_, i) => 1.4 * Math.exp(-i / 80) + 0.3 + 0.05 * Math.sin(i)), color: [220, 40, 40] },
    { name: 'loss G', values: Array.from({ length: 300 }, (_, i) => (i === 150 ? NaN : 0.7 + i / 200)), color: [30, 90, 220] },
  ];
  const pixel = (img: { width: number; pixels: Uint8Array }, x: number, y: number) => Array.from(img.pixels.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
  const countColor = (img: { pixels: Uint8Array }, [r, g, b]: number[]) => {
    let n = 0;
    for (let i = 0; i < img.pixels.length; i += 4) if (img.pixels[i] === r && img.pixels[i + 1] === g && img.pixels[i + 2] === b) n++;
    return n;
  };

  it('draws both series, the axes and the legend on white', () => {
    const img = renderLossCurve(series, { width: 500, height: 300, title: 'Loss per step' });
    expect([img.width, img.height, img.pixels.length]).toEqual([500, 300, 500 * 300 * 4]);
    expect(pixel(img, 499, 0)).toEqual([255, 255, 255, 255]);
    expect(countColor(img, [220, 40, 40])).toBeGreaterThan(300);
    expect(countColor(img, [30, 90, 220])).toBeGreaterThan(300);
    // a black vertical axis: some column with a long black run
    let longest = 0;
    for (let x = 0; x < 120; x++) {
      let run = 0;
      for (let y = 0; y < 300; y++) {
        run = pixel(img, x, y)[0] === 0 && pixel(img, x, y)[1] === 0 ? run + 1 : 0;
        longest = Math.max(longest, run);
      }
    }
    expect(longest).toBeGreaterThan(200);
    let opaque = 0;
    for (let i = 3; i < img.pixels.length; i += 4) if (img.pixels[i] === 255) opaque++;
    expect(opaque).toBe(500 * 300);
  });

  it('writes a PNG and copes with a single point, constant values and no finite values', () => {
    const path = join(dir, 'loss.png');
    lossCurvePng(path, series, { title: 'losses' });
    const png = readPng(path);
    expect([png.width, png.height]).toEqual([720, 400]);
    for (const s of [[{ name: 'one', values: [2], color: [0, 128, 0] }], [{ name: 'flat', values: [3, 3, 3], color: [0, 128, 0] }], [{ name: 'nan', values: [NaN, Infinity], color: [0, 128, 0] }], []] as Series[][]) {
      const img = renderLossCurve(s, { width: 200, height: 120 });
      expect(img.pixels.length).toBe(200 * 120 * 4);
    }
    expect(countColor(renderLossCurve([{ name: 'flat', values: [3, 3, 3], color: [0, 128, 0] }], { width: 200, height: 120 }), [0, 128, 0])).toBeGreaterThan(50);
    expect(() => renderLossCurve(series, { width: 50, height: 50 })).toThrow(/too small/);
  });

  it('picks 1-2-5 tick steps and formats their labels', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 4)).toBe(0.2);
    expect(niceStep(7000, 5)).toBe(1000);
    expect(niceStep(0.031, 5)).toBeCloseTo(0.005, 12);
    expect(tickLabel(0.4, 0.2)).toBe('0.4');
    expect(tickLabel(1.0000000001e-12, 0.5)).toBe('0');
    expect(tickLabel(0.015, 0.005)).toBe('0.015');
    expect(tickLabel(20000, 5000)).toBe('20K');
    expect(tickLabel(1500, 500)).toBe('1500');
  });
});
