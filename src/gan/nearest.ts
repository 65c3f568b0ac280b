// Nearest-neighbour search on the GPU for the quality measures: ‖q − b‖² = ‖q‖² + ‖b‖² − 2·q·b, with the dot
// products from the engine's matmul over blocks of queries and base rows and a running k-smallest per query
// (row_topk.wgsl). float32 loses the low bits of ‖q − b‖² when it is small against ‖q‖² + ‖b‖², so the GPU only
// shortlists a few extra candidates per query; they are ranked again exactly in float64 (rankNeighbours).
import type { Engine } from '../runtime/engine.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/ops/create.js';
import { matmulKernel } from '../kernels/matmul.js';
import { rowTopKKernel, MAX_TOPK, NO_INDEX } from '../kernels/row-topk.js';
import { rankNeighbours, type NeighbourSearch, type NeighbourQuery } from './quality.js';

export interface GpuSearchOptions {
  /** Candidates shortlisted beyond k for the exact re-ranking (default 3). */
  extra?: number;
  /** Rows per block of queries and of base rows: the product block is queryBlock × baseBlock floats. */
  queryBlock?: number;
  baseBlock?: number;
  /** Called with the fraction done after each block of base rows. */
  progress?: (fraction: number) => void;
}

/** ‖row‖² − offset for each row, in float64 rounded to float32 for the GPU. */
function rowTerms(rows: Float32Array, dim: number, offset?: Float64Array): Float32Array {
  const count = rows.length / dim;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) s += rows[j] * rows[j];
    out[i] = s - (offset ? offset[i] : 0);
  }
  return out;
}

/** A NeighbourSearch that shortlists on the GPU and ranks exactly on the CPU. */
export function gpuNeighbourSearch(engine: Engine, options: GpuSearchOptions = {}): NeighbourSearch {
  const { extra = 3, queryBlock = 2048, baseBlock = 8192, progress } = options;
  return async (query: NeighbourQuery) => {
    const { queries, base, dim, k, excludeSelf, baseOffset } = query;
    const queryCount = queries.length / dim;
    const baseCount = base.length / dim;
    if (!Number.isInteger(queryCount) || !Number.isInteger(baseCount)) throw new Error(`neighbour search: ${queries.length} and ${base.length} values are not rows of ${dim}`);
    const shortlist = Math.min(k + extra, MAX_TOPK);
    if (k > shortlist) throw new Error(`neighbour search: k = ${k} exceeds ${MAX_TOPK}`);
    const queryTerms = rowTerms(queries, dim);
    const baseTerms = rowTerms(base, dim, baseOffset);
    const blocks: { start: number; rows: Tensor; terms: Tensor; best: Tensor; index: Tensor }[] = [];
    try {
      for (let start = 0; start < queryCount; start += queryBlock) {
        const n = Math.min(queryBlock, queryCount - start);
        blocks.push({
          start,
          rows: tensor(engine, queries.subarray(start * dim, (start + n) * dim), [n, dim]),
          terms: tensor(engine, queryTerms.subarray(start, start + n), [n]),
          best: Tensor.empty(engine, [n, shortlist]),
          index: Tensor.empty(engine, [n, shortlist]),
        });
      }
      for (let from = 0; from < baseCount; from += baseBlock) {
        const n = Math.min(baseBlock, baseCount - from);
        const rows = tensor(engine, base.subarray(from * dim, (from + n) * dim), [n, dim]);
        const terms = tensor(engine, baseTerms.subarray(from, from + n), [n]);
        for (const b of blocks) {
          const dots = matmulKernel(b.rows, rows, { transposeB: true });
          rowTopKKernel(dots, b.terms, terms, b.best, b.index, { colOffset: from, rowOffset: b.start, first: from === 0, excludeSelf });
          dots.dispose();
          engine.flush(); // lets the next block reuse the product's buffer
        }
        rows.dispose();
        terms.dispose();
        if (progress) {
          await engine.sync();
          progress(Math.min(1, (from + n) / baseCount));
        }
      }
      const candidates = new Uint32Array(queryCount * shortlist);
      for (const b of blocks) candidates.set(new Uint32Array(await engine.read(b.index.buffer, b.index.size * 4)), b.start * shortlist);
      return rankNeighbours(query, (qi) => candidates.subarray(qi * shortlist, (qi + 1) * shortlist).filter((c) => c !== NO_INDEX));
    } finally {
      for (const b of blocks) for (const t of [b.rows, b.terms, b.best, b.index]) t.dispose();
    }
  };
}
