// Matrices staged into rgba32float textures, for kernels that read their operands as texels (matmul.wgsl's
// TEX): texel (q, r) holds row r, columns 4q..4q+3, zero past the last column.
import { grid1d } from '../runtime/params.js';
import type { Engine } from '../runtime/engine.js';
import type { DeviceArray } from '../runtime/storage.js';
import type { PooledTexture } from '../runtime/texture-pool.js';

/** A [rows, cols] matrix held in a pooled texture; dispose() returns the texture to the pool. */
export class MatrixTexture {
  constructor(readonly engine: Engine, readonly shape: readonly [number, number], readonly texture: PooledTexture) {}

  get view(): GPUTextureView {
    return this.texture.view;
  }

  dispose(): void {
    this.engine.textures.release(this.texture);
  }
}

/** An empty texture for a [rows, cols] matrix, for a kernel to write. */
export function matrixTexture(engine: Engine, rows: number, cols: number): MatrixTexture {
  return new MatrixTexture(engine, [rows, cols], engine.textures.acquire(Math.ceil(cols / 4), rows));
}

/** t's storage read as a row-major [rows, cols] matrix; `label` names the op it is staged for (profiles). */
export function toTexture(t: DeviceArray, rows: number, cols: number, label?: string): MatrixTexture {
  const engine = t.engine;
  const m = matrixTexture(engine, rows, cols);
  // A plain copy needs rows 256-byte aligned; anything else goes through a small shader that also zero-pads.
  if ((cols * 4) % 256 === 0) {
    engine.copyToTexture(t, m.texture.texture, cols * 4, m.texture.width, rows);
  } else {
    stage(t, m, { VEC4: cols % 4 === 0, CHANNEL_MAJOR: false }, 1, label);
  }
  return m;
}

/** An NCHW tensor [N, C, H, W] as the channel-major matrix [C, N·H·W] that conv GEMMs take, in one pass. */
export function channelMajorTexture(t: DeviceArray, label?: string): MatrixTexture {
  const [n, c, ...spatial] = t.shape;
  const s = spatial.reduce((a, b) => a * b, 1);
  const m = matrixTexture(t.engine, c, n * s);
  stage(t, m, { VEC4: s % 4 === 0, CHANNEL_MAJOR: true }, s, label);
  return m;
}

function stage(t: DeviceArray, m: MatrixTexture, defines: { VEC4: boolean; CHANNEL_MAJOR: boolean }, s: number, label?: string): void {
  const [rows, cols] = m.shape;
  t.engine.run({
    shader: 'to_texture', label: label ? `${label}:to_texture` : undefined, defines,
    constants: { ROWS: rows, COLS: cols, WIDTH: m.texture.width, S: s },
    buffers: [t, m.view], workgroups: grid1d(m.texture.width * rows, 64),
  });
}
