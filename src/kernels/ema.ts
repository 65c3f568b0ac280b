// Exponential moving average of a tensor, updated in place by one dispatch.
import { Params, grid1d } from '../runtime/params.js';
import type { DeviceArray } from '../runtime/storage.js';
import { shapeString } from '../runtime/shape.js';

/** average ← decay·average + (1 − decay)·x. */
export function emaKernel(average: DeviceArray, x: DeviceArray, decay: number): void {
  if (average.size !== x.size) {
    throw new Error(`ema: average has shape ${shapeString(average.shape)}, x has ${shapeString(x.shape)}`);
  }
  if (!(decay >= 0 && decay <= 1)) throw new Error(`ema: decay ${decay} is outside [0, 1]`);
  const vec4 = x.size % 4 === 0;
  const n = vec4 ? x.size / 4 : x.size;
  x.engine.run({
    shader: 'ema', defines: { VEC4: vec4 },
    uniforms: new Params().u32(n).f32(decay, 1 - decay).buffer,
    buffers: [average, x], inPlace: [average], workgroups: grid1d(n, 256),
  });
}
