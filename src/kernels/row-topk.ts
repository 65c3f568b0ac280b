// Running k-smallest per row over blocks of an expanded squared-distance matrix (see row_topk.wgsl).
import { Params, grid1d } from '../runtime/params.js';
import type { DeviceArray } from '../runtime/storage.js';
import { shapeString } from '../runtime/shape.js';

export const MAX_TOPK = 16;
/** bestIndex entries not (yet) filled. */
export const NO_INDEX = 0xffffffff;

export interface TopKBlock {
  /** Global index of the block's first column (and the row index base for excludeSelf). */
  colOffset: number;
  rowOffset?: number;
  /** Start best/bestIndex afresh instead of merging into them. */
  first: boolean;
  excludeSelf?: boolean;
}

/**
 * Merges the k smallest rowTerm_i + colTerm_j − 2·dots_ij of each row of dots [rows, cols] into best [rows, k]
 * (f32) and bestIndex [rows, k] (u32 bits in a tensor's buffer), in place.
 */
export function rowTopKKernel(dots: DeviceArray, rowTerm: DeviceArray, colTerm: DeviceArray, best: DeviceArray, bestIndex: DeviceArray, block: TopKBlock): void {
  const [rows, cols] = dots.shape;
  const k = best.shape[1];
  if (dots.rank !== 2 || rowTerm.size !== rows || colTerm.size !== cols || best.rank !== 2 || best.shape[0] !== rows || bestIndex.size !== best.size) {
    throw new Error(`rowTopK: dots ${shapeString(dots.shape)}, rowTerm ${shapeString(rowTerm.shape)}, colTerm ${shapeString(colTerm.shape)}, ` +
      `best ${shapeString(best.shape)}, bestIndex ${shapeString(bestIndex.shape)} do not fit together`);
  }
  if (!(Number.isInteger(k) && k >= 1 && k <= MAX_TOPK)) throw new Error(`rowTopK: k = ${k} must be in 1…${MAX_TOPK}`);
  dots.engine.run({
    shader: 'row_topk', label: `row_topk:k${k}`, defines: { K: k },
    uniforms: new Params().u32(rows, cols, block.colOffset, block.rowOffset ?? 0, block.first ? 1 : 0, block.excludeSelf ? 1 : 0).buffer,
    buffers: [dots, rowTerm, colTerm, best, bestIndex],
    workgroups: grid1d(rows, 64),
  });
}
