import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, decodeSafetensors, writeSafetensors, readSafetensors, type TensorEntry } from '../src/io/safetensors.js';
import { writeFileAtomic } from '../src/io/atomic.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-st-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + seed) * 10 ** ((i % 7) - 3));

function sample(): Record<string, TensorEntry> {
  return {
    'generator.conv1.weight': { dtype: 'F32', shape: [3, 5, 1, 7], data: Float32Array.from(f(105, 1)) },
    'x.f64': { dtype: 'F64', shape: [13], data: Float64Array.from(f(13, 2)) },
    'x.i32': { dtype: 'I32', shape: [2, 3], data: Int32Array.from([-2147483648, -1, 0, 1, 2147483647, 12345]) },
    'x.u8': { dtype: 'U8', shape: [9], data: Uint8Array.from([0, 1, 2, 127, 128, 200, 254, 255, 7]) },
    'x.i64': { dtype: 'I64', shape: [3], data: BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]) },
    'x.scalar': { dtype: 'F32', shape: [], data: Float32Array.from([-0.25]) },
    'x.empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
}

/** A file from a header object and a data section, laid out as the format says (header padded to 8). */
function handmade(header: unknown, data = new Uint8Array(0), { raw }: { raw?: string } = {}): Uint8Array {
  let json = raw ?? JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

describe('safetensors encode/decode', () => {
  it('round-trips every dtype, odd shapes, scalars, empty tensors and metadata', () => {
    const tensors = sample();
    const metadata = { format: 'atelier-dcgan/1', config: JSON.stringify({ lr: 0.0002, classes: ['bag'] }), note: 'ünïcode ✓' };
    const bytes = encodeSafetensors(tensors, metadata);
    const back = decodeSafetensors(bytes, 'mem');
    expect(back.metadata).toEqual(metadata);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = back.tensors[name];
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(got.data.constructor, name).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<unknown>), name).toEqual(Array.from(t.data as ArrayLike<unknown>));
      expect(got.data.length).toBe(count(t.shape));
    }
  });

  it('lays out the header as the format requires: u64 length, space padding, 8-byte aligned data, exact offsets', () => {
    const bytes = encodeSafetensors(sample(), { a: 'b' });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const n = view.getUint32(0, true);
    expect(view.getUint32(4, true)).toBe(0);
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ a: 'b' });
    const spans = Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => (v as { data_offsets: [number, number] }).data_offsets);
    spans.sort((a, b) => a[0] - b[0]);
    // contiguous from 0 to the end of the file, and each span aligned to its element size
    let at = 0;
    for (const [b, e] of spans) {
      expect(b).toBe(at);
      at = e;
    }
    expect(8 + n + at).toBe(bytes.length);
    const f32 = header['generator.conv1.weight'];
    expect(f32).toEqual({ dtype: 'F32', shape: [3, 5, 1, 7], data_offsets: [f32.data_offsets[0], f32.data_offsets[0] + 420] });
    expect(f32.data_offsets[0] % 4).toBe(0);
    // the data really is little-endian
    const first = new DataView(bytes.buffer, bytes.byteOffset + 8 + n + f32.data_offsets[0]).getFloat32(0, true);
    expect(first).toBe(Math.fround(f(1, 1)[0]));
  });

  it('decodes a file written by other tools (any key order, whitespace, no metadata, unaligned data)', () => {
    const data = new Uint8Array(1 + 8);
    data[0] = 42;
    new DataView(data.buffer).setFloat64(1, -1.5, true);
    const bytes = handmade(null, data, { raw: '{ "b" : {"data_offsets":[1,9], "shape":[1],"dtype":"F64"},\n "a":{"shape":[1],"dtype":"U8","data_offsets":[0,1]} }' });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({});
    expect(Array.from(back.tensors.a.data as Uint8Array)).toEqual([42]);
    expect(Array.from(back.tensors.b.data as Float64Array)).toEqual([-1.5]);
  });

  it('refuses to encode inconsistent tensors', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/tensor "a" shape \[2, 2\] needs 4 elements, data has 3/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float64Array(2) } as unknown as TensorEntry })).toThrow(/tensor "a" is F32 but its data is a Float64Array/);
    expect(() => encodeSafetensors({ a: { dtype: 'BF16', shape: [2], data: new Float32Array(2) } as unknown as TensorEntry })).toThrow(/unknown dtype "BF16"/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [-2], data: new Float32Array(2) } })).toThrow(/shape \[-2\] is not a list of non-negative integers/);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(/reserved/);
    expect(() => encodeSafetensors({}, { n: 3 as unknown as string })).toThrow(/metadata "n" must be a string/);
  });
});

describe('safetensors refuses corrupt input', () => {
  const u8 = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', u8(5), /5 bytes, shorter than the 8-byte header length/],
    ['header length past the end', (() => {
      const b = handmade({});
      new DataView(b.buffer).setUint32(0, 1000, true);
      return b;
    })(), /header length 1000 bytes runs past the end of the 16-byte file/],
    ['absurd header size', (() => {
      const b = handmade({});
      new DataView(b.buffer).setUint32(4, 256, true); // 2^40 bytes
      return b;
    })(), /header length 1099511627784 bytes is absurd/],
    ['absurd but below 2^32', (() => {
      const b = handmade({});
      new DataView(b.buffer).setUint32(0, 200 * 1024 * 1024, true);
      return b;
    })(), /is absurd \(more than the 100 MB limit\)/],
    ['bad JSON', handmade(null, undefined, { raw: '{"a": {"dtype": "F32",' }), /header is not valid JSON/],
    ['header an array', handmade([1, 2]), /header does not start with "\{" \(it starts "\[1,2\]   "\)/],
    ['header null', handmade(null), /header does not start with "\{" \(it starts "null    "\)/],
    ['header a number', handmade(7), /header does not start with "\{"/],
    ['invalid UTF-8', (() => {
      const b = handmade(null, undefined, { raw: '{"a":1}' });
      b[9] = 0xff;
      return b;
    })(), /not valid UTF-8/],
    ['unknown dtype', handmade({ a: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, u8(2)), /tensor "a": unknown or unsupported dtype "BF16"/],
    ['shape not a list', handmade({ a: { dtype: 'U8', shape: 3, data_offsets: [0, 3] } }, u8(3)), /shape 3 is not a list of non-negative integers/],
    ['negative dim', handmade({ a: { dtype: 'U8', shape: [-1, 3], data_offsets: [0, 3] } }, u8(3)), /shape \[-1,3\] is not a list/],
    ['fractional dim', handmade({ a: { dtype: 'U8', shape: [1.5], data_offsets: [0, 3] } }, u8(3)), /shape \[1\.5\] is not a list/],
    ['offsets out of range', handmade({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, u8(12)), /data_offsets \[0, 16\] out of range \(the data section has 12 bytes\)/],
    ['offsets reversed', handmade({ a: { dtype: 'U8', shape: [0], data_offsets: [4, 2] } }, u8(12)), /data_offsets \[4, 2\] out of range/],
    ['offsets malformed', handmade({ a: { dtype: 'U8', shape: [2], data_offsets: [0] } }, u8(12)), /data_offsets \[0\] is not a pair/],
    ['offsets not matching shape', handmade({ a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, u8(16)), /span 12 bytes but F32 shape \[2,2\] needs 16 bytes/],
    ['overflowing shape', handmade({ a: { dtype: 'F64', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, u8(8)), /span 8 bytes but F64 shape/],
    ['overlapping tensors', handmade({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, u8(12)), /tensor "b" \[4, 12\] overlaps tensor "a" \[0, 8\]/],
    ['duplicate names', handmade(null, u8(8), { raw: '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}' }), /duplicate key "a" in the header/],
    ['entry not an object', handmade({ a: [1, 2] }), /tensor "a": header entry is not an object/],
    ['metadata not strings', handmade({ __metadata__: { step: 3 } }), /metadata "step" is not a string/],
    ['metadata not an object', handmade({ __metadata__: 'x' }), /"__metadata__" is not an object/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`${what}`, () => {
      expect(() => decodeSafetensors(bytes, 'bad.safetensors')).toThrow(message);
      const path = join(dir, `bad-${what.replace(/\W+/g, '_')}.safetensors`);
      writeFileSync(path, bytes);
      expect(() => readSafetensors(path)).toThrow(message);
      expect(() => readSafetensors(path)).toThrow(new RegExp(`^${path.replace(/[.]/g, '\\.')}`));
    });
  }

  it('does not mistake nested keys or escaped quotes for duplicates', () => {
    const raw = '{"__metadata__":{"k":"say \\"a\\": {\\"a\\":1}","a":"x"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const back = decodeSafetensors(handmade(null, u8(1), { raw }));
    expect(back.metadata).toEqual({ k: 'say "a": {"a":1}', a: 'x' });
    expect(back.tensors.a.shape).toEqual([1]);
  });
});

describe('safetensors files', () => {
  it('writes atomically and reads back', () => {
    const path = join(dir, 'sub', 'model.safetensors');
    writeSafetensors(path, sample(), { step: '12' });
    writeSafetensors(path, { only: { dtype: 'U8', shape: [2], data: Uint8Array.from([1, 2]) } }, { step: '13' });
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ step: '13' });
    expect(Object.keys(back.tensors)).toEqual(['only']);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['model.safetensors']); // no temp files left
    expect(readFileSync(path)).toEqual(Buffer.from(encodeSafetensors({ only: { dtype: 'U8', shape: [2], data: Uint8Array.from([1, 2]) } }, { step: '13' })));
  });

  it('writeFileAtomic leaves the old file intact and no temp file when the write fails', () => {
    const path = join(dir, 'keep.txt');
    writeFileAtomic(path, 'old');
    expect(() => writeFileAtomic(path, { length: 3 } as unknown as Uint8Array)).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir).filter((n) => n.includes('keep.txt'))).toEqual(['keep.txt']);
  });

  it('names a missing file', () => {
    expect(() => readSafetensors(join(dir, 'missing.safetensors'))).toThrow(/missing\.safetensors/);
  });
});
