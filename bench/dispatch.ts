// Per-dispatch overhead: many tiny dispatches recorded into one compute pass, then one submit.
import type { Engine } from '../src/runtime/engine.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Params } from '../src/runtime/params.js';
import { median } from './stats.js';

export async function benchDispatch(engine: Engine, { quick = false } = {}): Promise<{ dispatches: number; usPerDispatch: number }> {
  const t = Tensor.empty(engine, [4]);
  const count = quick ? 300 : 1000;
  const run = async () => {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      engine.run({ shader: 'fill', uniforms: new Params().u32(4).f32(i).buffer, buffers: [t], workgroups: [1] });
    }
    await engine.sync();
    return ((performance.now() - start) * 1000) / count;
  };
  await run();
  const times: number[] = [];
  for (let r = 0; r < (quick ? 3 : 7); r++) times.push(await run());
  t.dispose();
  return { dispatches: count, usPerDispatch: median(times) };
}
