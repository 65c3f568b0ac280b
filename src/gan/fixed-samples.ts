// The fixed inputs of a run's sample grids, drawn once and saved in every checkpoint (fixed_z, and for a
// conditional run fixed_labels), so a resumed run draws the same grids. Browser-safe.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { randn, tensor } from '../tensor/ops/create.js';
import { keep } from '../tensor/autograd.js';
import type { ConditionalSpec } from './spec.js';

/** Images per grid row, and the unconditional grid's images (8 × 8). */
export const GRID_COLUMNS = 8;
export const UNCONDITIONAL_GRID = 64;

/** Rows of the grid: 64 images of z alone, or classes × 8 (one row per class, the same 8 z in every row). */
export const fixedSampleCount = (conditional?: ConditionalSpec) => (conditional ? conditional.classes * GRID_COLUMNS : UNCONDITIONAL_GRID);

export interface FixedSamples {
  /** z [count, latentDim, 1, 1] (kept: outside any tidy scope). */
  z: Tensor;
  /** The class of each row of z (conditional runs): row r·8 + c is class r. */
  labels?: Float32Array;
}

/** The class of each of a conditional grid's classes × 8 images: 0,0,…,0 (8), 1,…, classes − 1. */
export function gridLabels(classes: number, columns = GRID_COLUMNS): Float32Array {
  return Float32Array.from({ length: classes * columns }, (_, i) => Math.floor(i / columns));
}

/**
 * A new run's fixed z from the stream (seed ^ 0x5eed, 0): 64 draws as always for an unconditional run; for a
 * conditional one 8 draws, repeated for each class's row.
 */
export async function drawFixedSamples(engine: Engine, latentDim: number, seed: number, conditional?: ConditionalSpec): Promise<FixedSamples> {
  const key = { seed: (seed ^ 0x5eed) >>> 0 };
  if (!conditional) return { z: keep(randn(engine, [UNCONDITIONAL_GRID, latentDim, 1, 1], 0, 1, key)) };
  const drawn = randn(engine, [GRID_COLUMNS, latentDim, 1, 1], 0, 1, key);
  const row = await drawn.toArray();
  drawn.dispose();
  const count = fixedSampleCount(conditional);
  const z = new Float32Array(count * latentDim);
  for (let r = 0; r < conditional.classes; r++) z.set(row, r * GRID_COLUMNS * latentDim);
  return { z: keep(tensor(engine, z, [count, latentDim, 1, 1])), labels: gridLabels(conditional.classes) };
}
