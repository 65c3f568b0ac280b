// Images for the eye, browser-safe: float images tiled into a gray grid (the CLI's PNGs use it too), an
// ImageData-like RGBA grid for a page, and drawing that grid on a canvas.

/** width×height pixels, `channels` bytes each (1 gray, 3 RGB, 4 RGBA), row-major. */
export interface Image {
  width: number;
  height: number;
  pixels: Uint8Array;
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

/** Single-channel float images laid out [count, channels = 1, height, width], values in [0, 1] (what sample() returns). */
export interface Images {
  data: Float32Array;
  count: number;
  channels: number;
  height: number;
  width: number;
}

/** What toImageData returns: RGBA bytes, 4 per pixel, row-major — an ImageData where the platform has one. */
export interface ImageDataLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

/** A canvas to draw on: an HTMLCanvasElement, an OffscreenCanvas or anything with the same two members. */
export interface CanvasLike {
  width: number;
  height: number;
  getContext(contextId: '2d'): { putImageData(image: ImageDataLike, dx: number, dy: number): void } | null;
}

export interface ImageDataOptions {
  /** Images per row; default ceil(√count). */
  cols?: number;
  /** Pixels between and around tiles; default 2. */
  pad?: number;
}

/**
 * Tiles `images` (values in [0, 1], one channel; see sample()) into one opaque gray RGBA grid: 0 → black,
 * 1 → white, values outside clamped, NaN black; `pad` black pixels between and around tiles. Returns an
 * ImageData when the platform has the class (browsers, workers), else a plain { width, height, data }.
 * Throws for images with other than one channel, or a bad cols or pad.
 */
export function toImageData(images: Images, { cols, pad = 2 }: ImageDataOptions = {}): ImageDataLike {
  if (images.channels !== 1) throw new Error(`toImageData: expects single-channel images, got ${images.channels} channels`);
  const gray = imageGrid(images.data, images.count, images.height, images.width, { cols, pad, range: [0, 1] });
  const rgba = new Uint8ClampedArray(gray.width * gray.height * 4);
  for (let i = 0; i < gray.pixels.length; i++) {
    const v = gray.pixels[i];
    rgba[4 * i] = v;
    rgba[4 * i + 1] = v;
    rgba[4 * i + 2] = v;
    rgba[4 * i + 3] = 255;
  }
  const ImageDataClass = (globalThis as { ImageData?: new (data: Uint8ClampedArray, width: number, height: number) => ImageDataLike }).ImageData;
  return ImageDataClass ? new ImageDataClass(rgba, gray.width, gray.height) : { width: gray.width, height: gray.height, data: rgba };
}

/**
 * Draws `images` as toImageData's grid at the canvas's top-left corner, resizing the canvas to the grid (scale
 * it up with CSS, `image-rendering: pixelated`). Returns the grid drawn. Throws when the canvas has no 2D context.
 */
export function drawToCanvas(canvas: CanvasLike, images: Images, options: ImageDataOptions = {}): ImageDataLike {
  const image = toImageData(images, options);
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('drawToCanvas: the canvas gives no 2d context (is it already used for WebGPU or WebGL?)');
  context.putImageData(image, 0, 0);
  return image;
}
