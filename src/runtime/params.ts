// Uniform blocks and dispatch grids: what every kernel's TS side hands to Engine.run.
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Packs a uniform block of 4-byte scalars in declaration order. */
export class Params {
  private words: number[] = [];
  private kinds: ('u' | 'i' | 'f')[] = [];
  u32(...values: number[]): this {
    for (const v of values) this.push('u', v);
    return this;
  }
  i32(...values: number[]): this {
    for (const v of values) this.push('i', v);
    return this;
  }
  f32(...values: number[]): this {
    for (const v of values) this.push('f', v);
    return this;
  }
  get buffer(): ArrayBuffer {
    const bytes = new ArrayBuffer(Math.max(16, Math.ceil((this.words.length * 4) / 16) * 16));
    const view = new DataView(bytes);
    this.words.forEach((v, i) => {
      const kind = this.kinds[i];
      if (kind === 'f') view.setFloat32(i * 4, v, true);
      else if (kind === 'i') view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    return bytes;
  }
  private push(kind: 'u' | 'i' | 'f', v: number): void {
    this.words.push(v);
    this.kinds.push(kind);
  }
}

/** Workgroup counts for `count` invocations of a 1-D kernel; the shader linearises with num_workgroups. */
export function grid1d(count: number, workgroupSize: number): [number, number] {
  const groups = Math.max(1, Math.ceil(count / workgroupSize));
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y];
}
