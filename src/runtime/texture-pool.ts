// A pool of rgba32float textures keyed by size, for matrix operands staged into textures (see matmul.wgsl's
// TEX). As with buffers, a released texture is handed out again only after the submit that last used it.
import type { ErrorGuard } from './pool.js';

export interface PooledTexture {
  texture: GPUTexture;
  view: GPUTextureView;
  width: number;
  height: number;
}

export class TexturePool {
  private free = new Map<string, PooledTexture[]>();
  private pending: PooledTexture[] = [];
  allocatedBytes = 0;
  texturesCreated = 0;

  constructor(private device: GPUDevice, private guard: ErrorGuard = (_what, body) => body()) {}

  acquire(width: number, height: number): PooledTexture {
    const found = this.free.get(`${width}x${height}`)?.pop();
    if (found) return found;
    const texture = this.guard('texture', () => this.device.createTexture({
      size: [width, height],
      format: 'rgba32float',
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
    }));
    this.allocatedBytes += width * height * 16;
    this.texturesCreated++;
    return { texture, view: texture.createView(), width, height };
  }

  release(t: PooledTexture): void {
    this.pending.push(t);
  }

  submitted(): void {
    for (const t of this.pending) {
      const key = `${t.width}x${t.height}`;
      const list = this.free.get(key) ?? [];
      list.push(t);
      this.free.set(key, list);
    }
    this.pending = [];
  }

  trim(): void {
    for (const list of this.free.values()) {
      for (const t of list) {
        this.allocatedBytes -= t.width * t.height * 16;
        t.texture.destroy();
      }
    }
    this.free.clear();
  }
}
