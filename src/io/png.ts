// PNG output through pngjs, and the image grids the GAN writes: float images in a value range tiled with padding.
import { PNG } from 'pngjs';
import { writeFileAtomic } from './atomic.js';

/** width×height pixels, `channels` bytes each (1 gray, 3 RGB, 4 RGBA), row-major. */
export interface Image {
  width: number;
  height: number;
  pixels: Uint8Array;
}

const COLOR_TYPE: Record<number, 0 | 2 | 6> = { 1: 0, 3: 2, 4: 6 };

/** Channels per pixel, inferred from the buffer length. */
export function channelsOf(width: number, height: number, pixels: Uint8Array): 1 | 3 | 4 {
  const per = pixels.length / (width * height);
  if (!(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1) || (per !== 1 && per !== 3 && per !== 4)) {
    throw new Error(`writePng: ${pixels.length} bytes do not fit a ${width}×${height} image as gray (×1), RGB (×3) or RGBA (×4)`);
  }
  return per;
}

export function encodePng(width: number, height: number, pixels: Uint8Array): Uint8Array {
  const colorType = COLOR_TYPE[channelsOf(width, height, pixels)];
  const png = new PNG({ width, height });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: colorType === 6 });
}

/** Writes gray, RGB or RGBA bytes (channels inferred from the length) as a PNG, atomically. */
export function writePng(path: string, width: number, height: number, pixels: Uint8Array): void {
  writeFileAtomic(path, encodePng(width, height, pixels));
}

export interface GridOptions {
  /** Images per row; default ceil(√count). */
  cols?: number;
  /** Pixels between and around tiles; default 2. */
  pad?: number;
  /** The values mapped to 0 and 255; default [-1, 1]. Values outside are clamped. */
  range?: [number, number];
  /** Gray level of the padding; default 0. */
  padValue?: number;
}

/** Tiles `count` single-channel h×w float images (laid out count×h×w) into one gray image. */
export function imageGrid(images: Float32Array, count: number, h: number, w: number, { cols, pad = 2, range = [-1, 1], padValue = 0 }: GridOptions = {}): Image {
  for (const [k, v] of Object.entries({ count, h, w })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`imageGrid: ${k} must be a whole number ≥ 1, got ${v}`);
  }
  if (images.length < count * h * w) throw new Error(`imageGrid: ${count} images of ${h}×${w} need ${count * h * w} values, got ${images.length}`);
  const columns = cols ?? Math.ceil(Math.sqrt(count));
  if (!(Number.isInteger(columns) && columns >= 1)) throw new Error(`imageGrid: cols must be a whole number ≥ 1, got ${cols}`);
  if (!(Number.isInteger(pad) && pad >= 0)) throw new Error(`imageGrid: pad must be a whole number ≥ 0, got ${pad}`);
  const [lo, hi] = range;
  if (!(hi > lo)) throw new Error(`imageGrid: range [${lo}, ${hi}] is empty`);
  const rows = Math.ceil(count / columns);
  const width = columns * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const pixels = new Uint8Array(width * height).fill(padValue);
  const scale = 255 / (hi - lo);
  for (let n = 0; n < count; n++) {
    const x0 = pad + (n % columns) * (w + pad);
    const y0 = pad + Math.floor(n / columns) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = Math.round((images[(n * h + y) * w + x] - lo) * scale);
        pixels[(y0 + y) * width + x0 + x] = v > 255 ? 255 : v >= 0 ? v : 0; // NaN → 0
      }
    }
  }
  return { width, height, pixels };
}

/** Places gray images left to right with `gap` pixels of `gapValue` between, top-aligned. */
export function sideBySide(images: Image[], gap = 8, gapValue = 255): Image {
  if (images.length === 0) throw new Error('sideBySide: no images');
  for (const im of images) {
    if (im.pixels.length !== im.width * im.height) throw new Error(`sideBySide: expects gray images, got ${im.pixels.length} bytes for ${im.width}×${im.height}`);
  }
  const height = Math.max(...images.map((im) => im.height));
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const pixels = new Uint8Array(width * height).fill(gapValue);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) pixels.set(im.pixels.subarray(y * im.width, (y + 1) * im.width), y * width + x0);
    x0 += im.width + gap;
  }
  return { width, height, pixels };
}
