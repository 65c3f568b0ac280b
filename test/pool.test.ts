// The buffer pool's reuse within one recording: a buffer released while commands are recorded serves results
// recorded after them at once, but never an upload (queue.writeBuffer runs before everything recorded).
import { it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/runtime/engine.js';
import { getEngine } from './helpers.js';
import { tensor, fill } from '../src/tensor/ops/create.js';
import { exp } from '../src/tensor/ops/elementwise.js';
import { Tensor } from '../src/tensor/tensor.js';

let engine: Engine;
beforeAll(async () => {
  engine = await getEngine();
});

const SHAPE = [37, 53]; // its own bucket: no other test leaves buffers of this size behind

it('a result recorded after a release reuses the released buffer in the same recording', async () => {
  await engine.sync();
  const a = fill(engine, SHAPE, 2);
  const b = exp(a);
  const before = engine.pool.buffersCreated;
  b.dispose();
  const c = exp(a); // records after b's release: takes b's buffer, creates none
  expect(engine.pool.buffersCreated).toBe(before);
  for (const v of await c.toArray()) expect(v).toBeCloseTo(Math.exp(2), 5);
  a.dispose();
  c.dispose();
});

it('an upload never takes a buffer released during the recording, so earlier readers see their values', async () => {
  await engine.sync();
  const n = SHAPE[0] * SHAPE[1];
  const a = tensor(engine, new Float32Array(n).fill(1), SHAPE);
  const y = exp(a); // reads a's values when the recording runs
  a.dispose(); // a's buffer is released while y's read is still only recorded
  const b = tensor(engine, new Float32Array(n).fill(-50), SHAPE); // an upload: must not land in a's buffer
  const values = await y.toArray();
  expect(Math.min(...values)).toBeCloseTo(Math.E, 5); // -50 would give e^-50
  expect(Math.max(...values)).toBeCloseTo(Math.E, 5);
  expect((await b.toArray())[0]).toBe(-50);
  y.dispose();
  b.dispose();
});

it('engine.write into a buffer reused within the recording throws instead of overtaking its readers', async () => {
  await engine.sync();
  const a = fill(engine, SHAPE, 1);
  const y = exp(a);
  a.dispose();
  const reused = Tensor.empty(engine, SHAPE); // a GPU-written result: may take a's buffer
  expect(engine.pool.uploadWouldOvertake(reused.buffer)).toBe(true);
  expect(() => engine.write(reused.buffer, new Float32Array(SHAPE[0] * SHAPE[1]))).toThrow(/overtake/);
  await engine.sync();
  expect(engine.pool.uploadWouldOvertake(reused.buffer)).toBe(false); // after the submit, uploads are safe
  reused.dispose();
  y.dispose();
});
