// PNG output through pngjs. The image grids (float images in a value range tiled with padding) are browser-safe,
// in src/gan/images.ts, and re-exported here.
import { PNG } from 'pngjs';
import { writeFileAtomic } from './atomic.js';
import type { Image } from '../gan/images.js';

export { imageGrid, type Image, type GridOptions } from '../gan/images.js';

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
