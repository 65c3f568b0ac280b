// Inverted dropout with a mask hashed from (seed, counter, index): the same stream gives the same mask, so the
// backward pass reruns this kernel on dy.
import { Params, grid1d } from '../runtime/params.js';
import { DeviceArray } from '../runtime/storage.js';

/** y = x·mask/(1 − p) with P(mask = 0) = p (to 2^-24). */
export function dropoutKernel(x: DeviceArray, p: number, seed: number, counter: number): DeviceArray {
  const y = DeviceArray.empty(x.engine, x.shape);
  const vec4 = x.size % 4 === 0;
  const n = vec4 ? x.size / 4 : x.size;
  const threshold = Math.round(p * 2 ** 24);
  x.engine.run({
    shader: 'dropout', defines: { VEC4: vec4 },
    uniforms: new Params().u32(n, seed >>> 0, counter >>> 0, threshold).f32(1 / (1 - p)).buffer,
    buffers: [x, y], workgroups: grid1d(n, 256),
  });
  return y;
}
