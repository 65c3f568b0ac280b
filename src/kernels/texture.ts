// Staging a 2-D tensor into an rgba32float texture, for kernels that read their operands as texels.
import { Params, grid1d, type Engine } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { PooledTexture } from '../tensor/texture-pool.js';

/** Largest texture side this engine asks for; WebGPU guarantees 8192, lavapipe and GPUs give 16384. */
export function maxTextureSide(engine: Engine): number {
  return engine.device.limits.maxTextureDimension2D;
}

/** Whether a [rows, cols] matrix fits one texture of ceil(cols/4) × rows texels. */
export function fitsTexture(engine: Engine, rows: number, cols: number): boolean {
  const side = maxTextureSide(engine);
  return rows <= side && Math.ceil(cols / 4) <= side;
}

/**
 * A texture holding t's storage as a [rows, cols] row-major matrix: texel (q, r) = row r, columns 4q..4q+3,
 * zero past the last column. Release it to engine.textures when the kernel reading it has been recorded.
 */
export function toTexture(t: Tensor, rows: number, cols: number): PooledTexture {
  const engine = t.engine;
  const width = Math.ceil(cols / 4);
  const tex = engine.textures.acquire(width, rows);
  // A plain copy needs rows 256-byte aligned; anything else goes through a small shader that also zero-pads.
  if ((cols * 4) % 256 === 0) {
    engine.copyToTexture(t.buffer, tex.texture, cols * 4, width, rows);
  } else {
    engine.run({
      shader: 'to_texture', defines: { VEC4: cols % 4 === 0 },
      uniforms: new Params().u32(rows, cols, width).buffer,
      buffers: [t.buffer, tex.view], workgroups: grid1d(width * rows, 64),
    });
  }
  return tex;
}
