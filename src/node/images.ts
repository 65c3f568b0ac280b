// Sample grids and image files from generator output.
import type { Tensor } from '../tensor/tensor.js';
import type { GanTrainer } from '../gan/trainer.js';
import { imageGrid, writePng } from '../io/png.js';
import { generatePixels } from '../gan/sampling.js';

export async function writeImagesGrid(images: Tensor, path: string, cols = 8): Promise<void> {
  const [n, , h, w] = images.shape;
  const grid = imageGrid(await images.toArray(), n, h, w, { cols, pad: 2, range: [-1, 1] });
  writePng(path, grid.width, grid.height, grid.pixels);
}

/** The grid of G(z) in eval mode, run in chunks that fit the device (a preset's G can need 10 MB per image). */
export async function writeSampleGrid(trainer: GanTrainer, z: Tensor, path: string): Promise<void> {
  const { pixels, count, height, width } = await generatePixels(trainer.engine, trainer.sampler, z);
  const grid = imageGrid(pixels, count, height, width, { cols: 8, pad: 2, range: [-1, 1] });
  writePng(path, grid.width, grid.height, grid.pixels);
}
