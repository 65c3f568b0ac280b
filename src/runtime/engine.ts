// The engine drives one GPUDevice, which it may share with a host app: it compiles and caches pipelines,
// records every dispatch into one open command encoder (submitted only when a value is read or flush() is
// called), hands out pooled buffers and surfaces WebGPU errors as exceptions that name the kernel. Only the
// engine's own work runs inside its error scopes (one pair per submit, pipeline, buffer or upload — never per
// dispatch), so an error the host's own code causes stays the host's: the engine installs no device-wide
// `uncapturederror` listener. A bad bind group is caught by the submit's scope, when the encoder that used it
// is finished.
import { shaderSources } from './shaders.generated.js';
import { preprocess, type Defines } from './preprocess.js';
import { BufferPool, type ErrorGuard } from './pool.js';
import { TexturePool } from './texture-pool.js';
import { MAX_WORKGROUPS_PER_DIM } from './params.js';
import type { DeviceArray } from './storage.js';
import { contiguousCopy } from './contiguous.js';

/** What a kernel binds: an array (bound over its own bytes, not its pooled buffer's) or a texture view. */
export type Binding = DeviceArray | GPUTextureView;

export interface KernelCall {
  /** File name under shaders/, without `.wgsl`. */
  shader: string;
  /** `#if` flags and `${N}` numbers for the preprocessor; each distinct set is one cached pipeline. */
  defines?: Defines;
  /** Override constants (numbers) — also part of the pipeline's cache key. */
  constants?: Record<string, number>;
  /** Contents of the uniform block at @binding(0); omit for a shader with none. */
  uniforms?: ArrayBuffer;
  /** Arrays (storage buffers) or texture views bound at @binding(1), @binding(2), … in order. */
  buffers: Binding[];
  workgroups: [number, number?, number?];
  /** Names the dispatch in errors; defaults to the shader's name. */
  label?: string;
  /**
   * Bound arrays this kernel reads through their strides (binary, reduce_sum). Any other strided view is bound
   * as a contiguous copy made here, so kernels that index row-major never see one.
   */
  strided?: DeviceArray[];
  /**
   * Bound arrays it overwrites that existed before (Adam's parameter and moments, running statistics), as opposed
   * to fresh outputs: their storage version is bumped, and they must be contiguous.
   */
  inPlace?: DeviceArray[];
}

export interface DispatchRecord {
  label: string;
  /** performance.now() when the device finished it (0 until then). */
  done: number;
}

export interface EngineStats {
  dispatches: number;
  submits: number;
  readbacks: number;
  pipelines: number;
}

const UNIFORM_CHUNK_BYTES = 64 * 1024;
const UNIFORM_ALIGN = 256;
const MB = 1024 * 1024;

interface UniformChunk {
  gpu: GPUBuffer;
  cpu: Uint8Array;
}

export class Engine {
  readonly pool: BufferPool;
  readonly textures: TexturePool;
  readonly stats: EngineStats = { dispatches: 0, submits: 0, readbacks: 0, pipelines: 0 };
  /**
   * When set, run() submits every dispatch on its own and appends it here, with the time its work completed
   * (performance.now()). Successive completion times give each kernel's cost (bench --profile). Slow: for
   * measuring only.
   */
  profile: DispatchRecord[] | null = null;

  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private chunks: UniformChunk[] = [];
  private chunkIndex = 0;
  private chunkOffset = 0;
  private staging: GPUBuffer[] = [];
  private error: Error | null = null;
  private lost: string | null = null;
  private destroyed = false;
  /** Error scopes popped but not yet settled; read() and sync() wait for them before reporting. */
  private scopes = new Set<Promise<void>>();

  constructor(
    readonly device: GPUDevice,
    /** Human-readable adapter name, printed by bench and train headers. */
    readonly adapterName = 'WebGPU device',
    /** Lanes per subgroup when the device has subgroups of one fixed width (kernels may rely on it), else null. */
    readonly subgroupSize: number | null = null,
  ) {
    const guard: ErrorGuard = (what, body) => this.scoped(what, body);
    this.pool = new BufferPool(device, device.limits.maxBufferSize, guard);
    this.textures = new TexturePool(device, guard);
    // A promise's handler cannot be removed; it only records the loss for this engine's next call.
    void device.lost.then((info) => {
      this.lost = `WebGPU device lost (${info.reason}): ${info.message}`;
    });
  }

  /**
   * Runs `body` inside a validation and an out-of-memory error scope of the device: whatever WebGPU error it
   * causes becomes this engine's error (thrown by its next call, or by read()/sync() once the scope settles),
   * named after `what`. Nothing the host does outside these calls is caught.
   */
  private scoped<T>(what: string, body: () => T): T {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    try {
      return body();
    } finally {
      const validation = this.device.popErrorScope();
      const memory = this.device.popErrorScope();
      const settled: Promise<void> = Promise.all([validation, memory]).then(([v, m]) => {
        const e = v ?? m;
        if (e) this.error ??= new Error(`${what}: WebGPU ${v ? 'validation' : 'out-of-memory'} error: ${e.message}`);
      }, () => undefined).finally(() => this.scopes.delete(settled));
      this.scopes.add(settled);
    }
  }

  /** Waits until every error scope popped so far has settled (so check() sees their errors). */
  private async settled(): Promise<void> {
    while (this.scopes.size) await Promise.all([...this.scopes]);
  }

  /** Records one compute dispatch into the open command encoder. */
  run(call: KernelCall): void {
    this.check();
    const label = call.label ?? call.shader;
    const [x, y = 1, z = 1] = call.workgroups;
    if (x > MAX_WORKGROUPS_PER_DIM || y > MAX_WORKGROUPS_PER_DIM || z > MAX_WORKGROUPS_PER_DIM) {
      throw new Error(`${label}: dispatch of ${x}×${y}×${z} workgroups exceeds ${MAX_WORKGROUPS_PER_DIM} per dimension`);
    }
    for (const a of call.inPlace ?? []) a.markWritten();
    // A copy made for this dispatch goes back to the pool at once: the pool hands a buffer out again only after
    // the submit that carries this dispatch.
    const copies: DeviceArray[] = [];
    const bound = call.buffers.map((b) => {
      if (!('storage' in b) || b.isContiguous || call.strided?.includes(b)) return b;
      const copy = contiguousCopy(b);
      copies.push(copy);
      return copy;
    });
    const resources = bound.map((b) => this.bindingResource(b, label));
    const pipeline = this.pipeline(call);
    const entries: GPUBindGroupEntry[] = resources.map((resource, i) => ({ binding: i + 1, resource }));
    if (call.uniforms) entries.unshift({ binding: 0, resource: this.uniformSlot(call.uniforms) });
    const bindGroup = this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    for (const copy of copies) copy.dispose();
    if (x === 0 || y === 0 || z === 0) return;
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (this.profile) {
      const record: DispatchRecord = { label, done: 0 };
      this.profile.push(record);
      this.flush();
      void this.device.queue.onSubmittedWorkDone().then(() => {
        record.done = performance.now();
      });
    }
  }

  /** Records a buffer-to-buffer copy (ends the open compute pass). */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.check();
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Records a copy of a row-major array into a texture; bytesPerRow must be a multiple of 256. */
  copyToTexture(src: DeviceArray, dst: GPUTexture, bytesPerRow: number, width: number, height: number): void {
    this.check();
    const copy = src.isContiguous ? null : contiguousCopy(src);
    this.endPass();
    this.commandEncoder().copyBufferToTexture({ buffer: (copy ?? src).buffer, bytesPerRow }, { texture: dst }, [width, height]);
    copy?.dispose();
  }

  /** Uploads data into a buffer. Safe to call while recording on a buffer the pool gave for an upload (see BufferPool.acquire). */
  write(buffer: GPUBuffer, data: Float32Array | Uint32Array, offset = 0): void {
    this.check();
    if (this.pool.uploadWouldOvertake(buffer)) {
      throw new Error('engine.write: this buffer was reused within the open recording, so the upload would overtake the commands that read it; allocate upload targets with upload = true');
    }
    this.scoped('upload', () => this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength));
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.check();
    this.endPass();
    if (!this.encoder) return;
    const encoder = this.encoder;
    this.encoder = null;
    const what = this.profile?.length ? `kernel "${this.profile[this.profile.length - 1].label}"` : `submit #${this.stats.submits + 1}`;
    this.scoped(what, () => {
      for (let i = 0; i <= this.chunkIndex && i < this.chunks.length; i++) {
        const bytes = i === this.chunkIndex ? this.chunkOffset : UNIFORM_CHUNK_BYTES;
        if (bytes > 0) this.device.queue.writeBuffer(this.chunks[i].gpu, 0, this.chunks[i].cpu.buffer, 0, bytes);
      }
      this.device.queue.submit([encoder.finish()]);
    });
    this.chunkIndex = 0;
    this.chunkOffset = 0;
    this.stats.submits++;
    this.pool.submitted();
    this.textures.submitted();
  }

  /** Reads `bytes` from the start of a buffer. Submits the recorded work first. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const staging = this.takeStaging(size);
    this.copy(buffer, staging, size <= buffer.size ? size : bytes);
    this.flush();
    this.stats.readbacks++;
    try {
      await Promise.race([staging.mapAsync(GPUMapMode.READ, 0, size), this.lostPromise()]);
    } catch (e) {
      await this.settled();
      this.check();
      throw e;
    }
    await this.settled();
    if (this.error || this.lost) {
      staging.unmap();
      this.staging.push(staging);
      this.check();
    }
    const data = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.staging.push(staging);
    return data;
  }

  /** Waits for all submitted work and throws any error the device reported. */
  async sync(): Promise<void> {
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lostPromise()]);
    await this.settled();
    this.check();
  }

  /**
   * Removes what the engine made on the device: pooled buffers and textures, readback and uniform buffers, the
   * pipeline cache; unsubmitted work is dropped. Tensors still alive keep their own buffers (dispose them first).
   * The device itself stays the caller's (a shared device is not destroyed); the engine cannot be used again.
   */
  destroy(): void {
    this.endPass();
    this.encoder = null;
    this.pool.submitted();
    this.textures.submitted();
    this.pool.trim();
    this.textures.trim();
    for (const s of this.staging) s.destroy();
    for (const c of this.chunks) c.gpu.destroy();
    this.staging = [];
    this.chunks = [];
    this.chunkIndex = 0;
    this.chunkOffset = 0;
    this.pipelines.clear();
    this.destroyed = true;
  }

  /** Throws the first error the device reported (validation, out-of-memory, loss) for this engine's work. */
  check(): void {
    if (this.destroyed) throw new Error('this Engine was destroyed (engine.destroy()); create a new one');
    if (this.lost) throw new Error(this.lost);
    if (this.error) {
      const error = this.error;
      this.error = null;
      throw error;
    }
  }

  /**
   * An array binds exactly its own bytes (rounded up to 16 for vec4 views), not the power-of-two bucket the
   * pool gave it, and no more than the device lets one binding span.
   */
  private bindingResource(binding: Binding, label: string): GPUBindingResource {
    if (!('storage' in binding)) return binding;
    const buffer = binding.stridedBuffer;
    const size = Math.min(buffer.size, Math.ceil(Math.max(16, binding.byteLength) / 16) * 16);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (size > limit) {
      throw new Error(`${label}: binds an array of ${size} bytes (${(size / MB).toFixed(1)} MB), over this device's ` +
        `maxStorageBufferBindingSize of ${limit} bytes (${(limit / MB).toFixed(1)} MB); use a smaller batch`);
    }
    return { buffer, offset: 0, size };
  }

  private pipeline(call: KernelCall): GPUComputePipeline {
    const key = `${call.shader}|${JSON.stringify(call.defines ?? {})}|${JSON.stringify(call.constants ?? {})}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    const source = shaderSources[call.shader];
    if (source === undefined) throw new Error(`no shader named "${call.shader}" in shaders/`);
    const label = call.label ?? call.shader;
    const code = preprocess(source, call.defines, (name) => shaderSources[name]);
    pipeline = this.scoped(`kernel "${label}" failed to compile`, () => this.device.createComputePipeline({
      label,
      layout: 'auto',
      compute: { module: this.device.createShaderModule({ label, code }), entryPoint: 'main', constants: call.constants },
    }));
    this.pipelines.set(key, pipeline);
    this.stats.pipelines++;
    return pipeline;
  }

  private uniformSlot(data: ArrayBuffer): GPUBufferBinding {
    const size = Math.ceil(data.byteLength / 16) * 16;
    if (this.chunkOffset + size > UNIFORM_CHUNK_BYTES) {
      this.chunkIndex++;
      this.chunkOffset = 0;
    }
    if (this.chunkIndex === this.chunks.length) {
      const gpu = this.scoped('uniform buffer', () => this.device.createBuffer({
        label: 'uniforms',
        size: UNIFORM_CHUNK_BYTES,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      }));
      this.chunks.push({ gpu, cpu: new Uint8Array(UNIFORM_CHUNK_BYTES) });
    }
    const chunk = this.chunks[this.chunkIndex];
    const offset = this.chunkOffset;
    chunk.cpu.set(new Uint8Array(data), offset);
    this.chunkOffset += Math.ceil(size / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    return { buffer: chunk.gpu, offset, size };
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private takeStaging(size: number): GPUBuffer {
    const i = this.staging.findIndex((b) => b.size >= size && b.size <= size * 4);
    if (i >= 0) return this.staging.splice(i, 1)[0];
    return this.scoped('readback buffer', () => this.device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  }

  private lostPromise(): Promise<never> {
    return this.device.lost.then((info) => {
      throw new Error(`WebGPU device lost (${info.reason}): ${info.message}`);
    });
  }
}
