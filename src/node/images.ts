// Sample grids and image files from generator output.
import type { Tensor } from '../tensor/tensor.js';
import type { GanTrainer } from '../gan/trainer.js';
import { imageGrid, writePng } from '../io/png.js';

export async function writeImagesGrid(images: Tensor, path: string, cols = 8): Promise<void> {
  const [n, , h, w] = images.shape;
  const grid = imageGrid(await images.toArray(), n, h, w, { cols, pad: 2, range: [-1, 1] });
  writePng(path, grid.width, grid.height, grid.pixels);
}

export async function writeSampleGrid(trainer: GanTrainer, z: Tensor, path: string): Promise<void> {
  const images = trainer.sample(z);
  try {
    await writeImagesGrid(images, path, 8);
  } finally {
    images.dispose();
  }
}
