// DiffAugment's translation and cutout, fused in one kernel (diff_augment.wgsl); the GRAD variant is its transpose.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';

/** Per-image augmentation sizes in pixels: the largest shift each way (0: no translation), the cutout square (0: none). */
export interface AugmentSizes {
  shiftH: number;
  shiftW: number;
  cutH: number;
  cutW: number;
}

/**
 * x [N, C, H, W] translated and cut out as `draws` [N, 4] (uniform in (0, 1), one row per image) say;
 * with `grad`, the transpose of that map applied to x (the backward pass). Returns a new [N, C, H, W] array.
 */
export function diffAugmentKernel(x: DeviceArray, draws: DeviceArray, sizes: AugmentSizes, grad: boolean): DeviceArray {
  const [, c, h, w] = x.shape;
  const y = DeviceArray.empty(x.engine, x.shape);
  if (y.size === 0) return y;
  x.engine.run({
    shader: 'diff_augment', label: grad ? 'diff_augment:grad' : 'diff_augment', defines: { GRAD: grad },
    uniforms: new Params().u32(y.size, c, h, w, sizes.shiftH, sizes.shiftW, sizes.cutH, sizes.cutW).buffer,
    buffers: [draws, x, y], workgroups: grid1d(y.size, 256),
  });
  return y;
}
