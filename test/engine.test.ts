import { describe, it, expect, beforeAll } from 'vitest';
import { Engine } from '../src/runtime/engine.js';
import { DeviceArray } from '../src/runtime/storage.js';
import { Params, grid1d } from '../src/runtime/params.js';
import { Tensor } from '../src/tensor/tensor.js';
import { getEngine, randomArray, toGpu, expectClose } from './helpers.js';
import { tidy, keep, backward, noGrad, detach } from '../src/tensor/autograd.js';
import { tensor, fill, randn } from '../src/tensor/ops/create.js';
import { rngState, setRngState } from '../src/tensor/state.js';
import { add, mul, addScalar, tanh } from '../src/tensor/ops/elementwise.js';
import { reshape, flatten } from '../src/tensor/ops/shape.js';
import { sum } from '../src/tensor/ops/reduce.js';
import { preprocess } from '../src/runtime/preprocess.js';
import { requiredLimits } from '../src/runtime/device.js';
import { createNodeEngine } from '../src/node/gpu.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

describe('engine', () => {
  it('records many dispatches into one submit and reads back only on request', async () => {
    const before = { ...engine.stats };
    const y = tidy(engine, () => {
      let x = fill(engine, [1000], 1);
      for (let i = 0; i < 50; i++) x = addScalar(x, 1);
      return x;
    });
    expect(engine.stats.submits - before.submits).toBe(0);
    const values = await y.toArray();
    expect(engine.stats.submits - before.submits).toBe(1);
    expect(engine.stats.readbacks - before.readbacks).toBe(1);
    expect(engine.stats.dispatches - before.dispatches).toBe(51);
    expect(values[0]).toBe(51);
    expect(values[999]).toBe(51);
    y.dispose();
  });

  it('profile mode submits each dispatch alone and records when each finished, in order', async () => {
    const x = toGpu(engine, randomArray(1000, 5), [1000]);
    await engine.sync();
    const submits = engine.stats.submits;
    const records: import('../src/runtime/engine.js').DispatchRecord[] = [];
    engine.profile = records;
    const y = tanh(addScalar(x, 1));
    engine.profile = null;
    expect(engine.stats.submits - submits).toBe(2);
    expectClose(await y.toArray(), Array.from(randomArray(1000, 5), (v) => Math.tanh(v + 1)), 1e-6, 1, 'profiled ops');
    await engine.sync();
    expect(records.map((r) => r.label)).toEqual(['unary:addScalar', 'unary:tanh']);
    expect(records[0].done).toBeGreaterThan(0);
    expect(records[1].done).toBeGreaterThanOrEqual(records[0].done);
    x.dispose();
    y.dispose();
  });

  it('reuses a released buffer only after the submit that used it', async () => {
    const a = tensor(engine, [1, 2, 3, 4]);
    const b = addScalar(a, 10);
    const buffer = a.buffer;
    a.dispose();
    // Not yet submitted: the pool must not hand a's buffer out, or this upload would overwrite it before b runs.
    const c = tensor(engine, [7, 7, 7, 7]);
    expect(c.buffer).not.toBe(buffer);
    expect(Array.from(await b.toArray())).toEqual([11, 12, 13, 14]);
    const d = tensor(engine, [5, 5, 5, 5]);
    expect(d.buffer).toBe(buffer);
    for (const t of [b, c, d]) t.dispose();
  });

  it('names the kernel when a shader fails to compile', async () => {
    expect(() => engine.run({ shader: 'no_such_shader', buffers: [], workgroups: [1] })).toThrow(/no shader named "no_such_shader"/);
  });

  it('surfaces validation errors as exceptions instead of hanging', async () => {
    const t = Tensor.empty(engine, [4]);
    // fill's shader needs a uniform block; binding none is a validation error.
    engine.run({ shader: 'fill', uniforms: new Params().u32(4).f32(1).buffer, buffers: [], workgroups: [1], label: 'broken-fill' });
    await expect(t.toArray()).rejects.toThrow(/broken-fill/);
    // One bad dispatch can report more than one error; drain them so later tests start clean.
    await new Promise((r) => setTimeout(r, 50));
    await engine.sync().catch(() => undefined);
    t.dispose();
  });

  it('a lost device rejects reads with the reason instead of hanging', async () => {
    const own = await createNodeEngine();
    const t = fill(own, [8], 3);
    expect(Array.from(await t.toArray())[0]).toBe(3);
    own.device.destroy();
    await expect(t.toArray()).rejects.toThrow(/device lost|destroyed|lost/i);
    expect(() => fill(own, [8], 1)).toThrow(/device lost/i);
  });

  it('tidy disposes what it does not return; keep() survives', async () => {
    const inUse = engine.pool.inUseBytes;
    let kept!: Tensor;
    const result = tidy(engine, () => {
      const a = fill(engine, [64], 2);
      const b = mul(a, a);
      kept = keep(add(b, a));
      return { b };
    });
    expect(result.b.isDisposed).toBe(false);
    expect(kept.isDisposed).toBe(false);
    expect(Array.from(await result.b.toArray()).slice(0, 2)).toEqual([4, 4]);
    result.b.dispose();
    kept.dispose();
    expect(engine.pool.inUseBytes).toBe(inUse);
  });

  it('reshape and flatten are views; bad reshapes name the shapes', async () => {
    const x = toGpu(engine, randomArray(24, 3), [2, 3, 4]);
    const v = reshape(x, [4, -1]);
    expect(v.shape).toEqual([4, 6]);
    expect(flatten(x).shape).toEqual([2, 12]);
    expect(v.buffer).toBe(x.buffer);
    expect(() => reshape(x, [5, 5])).toThrow(/reshape: cannot view \[2, 3, 4\] \(24 elements\) as \[5, 5\]/);
    x.dispose();
    expectClose(await v.toArray(), randomArray(24, 3), 0, 1, 'view');
    v.dispose();
  });

  it('preprocessor picks branches and substitutes numbers', () => {
    const src = 'a\n#if X\nb ${N}\n#else\nc\n#endif\n#if !X\nd\n#endif';
    expect(preprocess(src, { X: true, N: 4 })).toBe('a\nb 4');
    expect(preprocess(src, { X: false, N: 4 })).toBe('a\nc\nd');
    expect(() => preprocess('#if X\n', {})).toThrow(/unterminated/);
    const chain = '#if A\na\n#elif B\nb\n#elif !C\nnot c\n#else\nelse\n#endif';
    expect(preprocess(chain, { A: true, B: true })).toBe('a');
    expect(preprocess(chain, { B: true })).toBe('b');
    expect(preprocess(chain, {})).toBe('not c');
    expect(preprocess(chain, { C: true })).toBe('else');
    expect(() => preprocess('#elif X\n', {})).toThrow(/#elif without #if/);
    const both = '#if A && !B\nab\n#elif A && B\nAB\n#endif';
    expect(preprocess(both, { A: true })).toBe('ab');
    expect(preprocess(both, { A: true, B: true })).toBe('AB');
    expect(preprocess(both, { B: true })).toBe('');
    expect(() => preprocess('#if A &&\n#endif', {})).toThrow(/bad condition/);
    const lib = (name: string) => (name === 'lib' ? 'fn f() {}\n#if X\nfn g() {}\n#endif' : undefined);
    expect(preprocess('a\n#include lib\nb', { X: true }, lib)).toBe('a\nfn f() {}\nfn g() {}\nb');
    expect(preprocess('#if !X\n#include nothing\n#endif', { X: true }, lib)).toBe('');
    expect(() => preprocess('#include nothing', {}, lib)).toThrow(/#include nothing at line 1 names no shader/);
  });
});

/**
 * The shared device seen through a proxy: `limits` overridden, and every bind group's storage-buffer binding
 * sizes recorded. An Engine over it allocates and dispatches on the real device.
 */
function instrumentedDevice(device: GPUDevice, limits: Partial<Record<'maxStorageBufferBindingSize' | 'maxBufferSize', number>>) {
  const bindingSizes: number[][] = [];
  const fakeLimits = new Proxy(device.limits, {
    get: (target, key) => (key in limits ? limits[key as keyof typeof limits] : (target as unknown as Record<string | symbol, unknown>)[key]),
  });
  const proxy = new Proxy(device, {
    get(target, key) {
      if (key === 'limits') return fakeLimits;
      if (key === 'createBindGroup') {
        return (descriptor: GPUBindGroupDescriptor) => {
          bindingSizes.push([...descriptor.entries].filter((e) => e.binding > 0).map((e) => (e.resource as GPUBufferBinding).size ?? -1));
          return target.createBindGroup(descriptor);
        };
      }
      const value = (target as unknown as Record<string | symbol, unknown>)[key];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { device: proxy, bindingSizes };
}

describe('buffer sizes and device limits', () => {
  const fillCall = (a: DeviceArray) => ({ shader: 'fill', label: 'fill-test', uniforms: new Params().u32(a.size).f32(2).buffer, buffers: [a], workgroups: grid1d(a.size, 256) });

  it('binds an array over its own bytes (rounded up to 16), not its power-of-two pooled buffer', async () => {
    const { device, bindingSizes } = instrumentedDevice(engine.device, {});
    const local = new Engine(device, 'instrumented');
    // elements → pooled buffer bytes → bound bytes
    for (const [size, pooled, bound] of [[1, 256, 16], [5, 256, 32], [70, 512, 288], [1000, 4096, 4000], [1025, 8192, 4112]]) {
      const a = DeviceArray.empty(local, [size]);
      expect(a.buffer.size).toBe(pooled);
      local.run(fillCall(a));
      expect(bindingSizes.at(-1)).toEqual([bound]);
      const t = new Tensor(local, [size], a.moveStorage());
      expect(Array.from(await t.toArray()).every((v) => v === 2)).toBe(true);
      t.dispose();
    }
    local.destroy();
  });

  it('refuses a binding over maxStorageBufferBindingSize before dispatch, naming the kernel, the size and the fix', async () => {
    const limit = 4096;
    const { device } = instrumentedDevice(engine.device, { maxStorageBufferBindingSize: limit });
    const local = new Engine(device, 'small limits');
    for (const size of [1024, 100, 1]) {
      const a = DeviceArray.empty(local, [size]);
      expect(() => local.run(fillCall(a))).not.toThrow();
      a.dispose();
    }
    for (const [size, bytes] of [[1025, 4112], [2000, 8000], [1 << 20, 4194304]]) {
      const a = DeviceArray.empty(local, [size]);
      const dispatches = local.stats.dispatches;
      expect(() => local.run(fillCall(a))).toThrow(
        new RegExp(`^fill-test: binds an array of ${bytes} bytes \\(${(bytes / 2 ** 20).toFixed(1)} MB\\), over this device's maxStorageBufferBindingSize of ${limit} bytes .*; use a smaller batch$`),
      );
      expect(local.stats.dispatches).toBe(dispatches);
      a.dispose();
    }
    await local.sync();
    local.destroy();
  });

  it('caps pooled buffers at maxBufferSize and refuses arrays larger than it, naming the array', () => {
    const max = 6000;
    const { device } = instrumentedDevice(engine.device, { maxBufferSize: max });
    const local = new Engine(device, 'small limits');
    // 4800 bytes would take an 8192-byte bucket: the pool cuts it to the limit
    for (const [size, pooled] of [[1200, max], [1500, max], [1000, 4096]]) {
      const a = DeviceArray.empty(local, [size]);
      expect(a.buffer.size).toBe(pooled);
      a.dispose();
    }
    for (const [size, bytes] of [[1501], [4096], [3, 2, 2000]].map((s) => [s, s.reduce((x, y) => x * y, 1) * 4] as const)) {
      expect(() => DeviceArray.empty(local, size)).toThrow(
        new RegExp(`^array \\[${size.join(', ')}\\]: needs a buffer of ${bytes} bytes .* over this device's maxBufferSize of ${max} bytes .*; use a smaller batch$`),
      );
    }
    local.destroy();
  });

  it('asks the adapter for its maxima of both limits', () => {
    const adapter = { limits: { maxStorageBufferBindingSize: 3 * 2 ** 30, maxBufferSize: 5 * 2 ** 30, maxTextureDimension2D: 8192 } } as unknown as GPUAdapter;
    expect(requiredLimits(adapter)).toMatchObject({ maxStorageBufferBindingSize: 3 * 2 ** 30, maxBufferSize: 5 * 2 ** 30 });
    expect(engine.device.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(engine.device.limits.maxBufferSize).toBeGreaterThanOrEqual(256 * 2 ** 20);
  });
});

describe('autograd', () => {
  it('keeps the RNG stream per engine: each draw takes (seed, counter) and advances it; setRngState moves it', async () => {
    setRngState(engine, { seed: 12, counter: 3 });
    const drawn = tidy(engine, () => keep(randn(engine, [5])));
    expect(rngState(engine)).toEqual({ seed: 12, counter: 4 });
    const keyed = randn(engine, [5], 0, 1, { key: { seed: 12, counter: 3 } });
    expect(rngState(engine)).toEqual({ seed: 12, counter: 4 });
    expect(Array.from(await drawn.toArray())).toEqual(Array.from(await keyed.toArray()));
    const state = rngState(engine);
    (state as { counter: number }).counter = 99;
    expect(rngState(engine).counter).toBe(4);
    for (const t of [drawn, keyed]) t.dispose();
  });

  it('accumulates gradients through shared subexpressions and stops at detach/noGrad', async () => {
    const x = toGpu(engine, [0.5, -1, 2], [3], true);
    tidy(engine, () => {
      const y = mul(x, x); // x²
      const z = add(y, mul(y, detach(x))); // x² + x²·stop(x): d/dx = 2x + 2x·x
      backward(sum(z));
      const frozen = noGrad(engine, () => mul(x, x));
      expect(frozen.requiresGrad).toBe(false);
    });
    const g = await x.grad!.toArray();
    expectClose(g, [0.5, -1, 2].map((v) => 2 * v + 2 * v * v), 1e-6, 1e-3, 'grad');
    x.grad!.dispose();
    x.dispose();
  });

  it('walks a 5,000-op chain without recursion', async () => {
    const x = toGpu(engine, [0.1], [1], true);
    tidy(engine, () => {
      let y = x;
      for (let i = 0; i < 5000; i++) y = addScalar(y, 0);
      backward(tanh(y));
    });
    expectClose(await x.grad!.toArray(), [1 - Math.tanh(0.1) ** 2], 1e-5, 1e-3, 'deep chain');
    x.grad!.dispose();
    x.dispose();
  });

  it('gives each leaf its own gradient buffer even when an op passes one gradient to both', async () => {
    const a = toGpu(engine, [1, 2], [2], true);
    const b = toGpu(engine, [3, 4], [2], true);
    tidy(engine, () => backward(sum(add(a, b))));
    expect(a.grad!.buffer).not.toBe(b.grad!.buffer);
    a.grad!.dispose();
    expect(Array.from(await b.grad!.toArray())).toEqual([1, 1]);
    for (const t of [b.grad!, a, b]) t.dispose();
  });

  it('refuses backward from a tensor that needs no gradient', () => {
    tidy(engine, () => {
      expect(() => backward(fill(engine, [1], 1))).toThrow(/does not require a gradient/);
    });
  });
});
