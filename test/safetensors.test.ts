import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
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

/** The header length field of `bytes` set to `n` (a copy). */
function withHeaderLength(bytes: Uint8Array, n: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}
const headerLengthOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
const oneLine = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    const message = (e as Error).message;
    expect(message).not.toMatch(/[\n\r]/);
    return message;
  }
  throw new Error('expected a refusal');
};

describe('safetensors: the data section is covered exactly', () => {
  // atelier's writer pads the header with spaces, so a length one short still parses as JSON: only coverage catches it.
  const padded = (() => {
    for (let k = 0; ; k++) {
      const b = encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) } }, { k: 'x'.repeat(k) });
      const n = headerLengthOf(b);
      if (b[8 + n - 1] === 0x20 && b[8 + n - 2] === 0x20 && b[8 + n - 3] === 0x20) return b;
    }
  })();
  const real = encodeSafetensors(sample(), { step: '1' });

  it('accepts the writer\'s space padding', () => {
    expect(decodeSafetensors(padded).tensors.w.data).toEqual(Float32Array.from([1, 2, 3]));
  });

  for (const delta of [-1, -2, -3, 1, 2, 8, -8]) {
    it(`refuses a header length off by ${delta}`, () => {
      for (const bytes of [padded, real]) {
        const message = oneLine(() => decodeSafetensors(withHeaderLength(bytes, headerLengthOf(bytes) + delta), 'off.safetensors'));
        expect(message).toMatch(/^off\.safetensors: /);
      }
    });
  }

  it('refuses trailing bytes, gaps between tensors and tensors that do not start at 0', () => {
    const u8 = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
    expect(() => decodeSafetensors(new Uint8Array([...real, 0]), 'tail')).toThrow(/tail: corrupt safetensors file: the tensors cover \d+ bytes but the data section has \d+/);
    expect(() => decodeSafetensors(new Uint8Array([...real, 1, 2, 3, 4, 5, 6, 7, 8]), 'tail8')).toThrow(/the tensors cover/);
    expect(() => decodeSafetensors(handmade({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [3, 5] } }, u8(5)), 'gap'))
      .toThrow(/gap: corrupt safetensors file: 1 bytes before tensor "b" \[3, 5\] belong to no tensor/);
    expect(() => decodeSafetensors(handmade({ a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, u8(4)), 'late')).toThrow(/2 bytes before tensor "a"/);
    expect(() => decodeSafetensors(handmade({}, u8(3)), 'none')).toThrow(/the tensors cover 0 bytes but the data section has 3/);
    // empty tensors anywhere in the order are fine
    const ok = decodeSafetensors(handmade({ e: { dtype: 'F32', shape: [0], data_offsets: [2, 2] }, a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, z: { dtype: 'U8', shape: [1], data_offsets: [2, 3] } }, u8(3)));
    expect(Object.keys(ok.tensors).sort()).toEqual(['a', 'e', 'z']);
  });
});

describe('safetensors: hostile headers', () => {
  const nest = (depth: number, inner: string) => '['.repeat(depth) + inner + ']'.repeat(depth);
  for (const [field, make] of [
    ['shape', (d: number) => `{"a":{"dtype":"U8","shape":${nest(d, '1')},"data_offsets":[0,1]}}`],
    ['dtype', (d: number) => `{"a":{"dtype":${nest(d, '"U8"')},"shape":[1],"data_offsets":[0,1]}}`],
    ['data_offsets', (d: number) => `{"a":{"dtype":"U8","shape":[1],"data_offsets":${nest(d, '0')}}}`],
    ['metadata (objects)', (d: number) => `{"__metadata__":${'{"k":'.repeat(d)}"v"${'}'.repeat(d)},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`],
    ['a tensor name\'s entry', (d: number) => `{"a":${nest(d, '{}')}}`],
  ] as const) {
    it(`refuses a header nested 6,000 deep in ${field}, without overflowing the stack`, () => {
      for (const depth of [6000, 100_000, 17]) {
        const message = oneLine(() => decodeSafetensors(handmade(null, Uint8Array.of(1), { raw: make(depth) }), 'deep'));
        expect(message).toMatch(/^deep: corrupt safetensors file: header nested more than 16 levels deep/);
      }
    });
  }

  it('cuts anything it echoes to a short line', () => {
    const long = 'Q'.repeat(10 * 1024 * 1024);
    const cases = [
      `{"a":{"dtype":"${long}","shape":[1],"data_offsets":[0,1]}}`,
      `{"${long}":{"dtype":"U8","shape":[1],"data_offsets":[0,2]}}`,
      `{"a":{"dtype":"U8","shape":["${long}"],"data_offsets":[0,1]}}`,
      `{"a":{"dtype":"U8","shape":[1],"data_offsets":["${long}", 1]}}`,
      `{"__metadata__":{"k":["${long}"]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`,
      `{"__metadata__":"${long}"}`,
      `{"a\\nb\\u2028${long}":{"dtype":"U8","shape":[1],"data_offsets":[0,2]}}`,
      `${'{'}"a":1, ${'x'.repeat(1000)}}`,
    ];
    for (const raw of cases) {
      const message = oneLine(() => decodeSafetensors(handmade(null, Uint8Array.of(1), { raw }), 'long'));
      expect(message.length, message.slice(0, 200)).toBeLessThan(400);
      expect(message).toMatch(/^long: /);
    }
  });

  it('treats "__metadata__": null as no metadata, and refuses other non-objects and non-string values', () => {
    const data = Uint8Array.of(7);
    const entry = '"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}';
    expect(decodeSafetensors(handmade(null, data, { raw: `{"__metadata__":null,${entry}}` })).metadata).toEqual({});
    expect(decodeSafetensors(handmade(null, data, { raw: `{"__metadata__":{},${entry}}` })).metadata).toEqual({});
    expect(decodeSafetensors(handmade(null, data, { raw: `{${entry},"__metadata__":{"x":""}}` })).metadata).toEqual({ x: '' });
    for (const meta of ['[]', '["a"]', '3', '"s"', 'true', 'false']) {
      expect(() => decodeSafetensors(handmade(null, data, { raw: `{"__metadata__":${meta},${entry}}` }), 'm')).toThrow(/m: corrupt safetensors file: "__metadata__" is not an object of strings/);
    }
    for (const value of ['1', 'null', 'true', '{}', '[]', '["x"]']) {
      expect(() => decodeSafetensors(handmade(null, data, { raw: `{"__metadata__":{"k":${value}},${entry}}` }), 'm')).toThrow(/m: corrupt safetensors file: metadata "k" is not a string/);
    }
  });

  it('checks the type of dtype, shape and data_offsets', () => {
    const data = Uint8Array.of(1, 2, 3, 4);
    const refused: [string, RegExp][] = [
      ['{"a":{"dtype":4,"shape":[4],"data_offsets":[0,4]}}', /unknown or unsupported dtype 4/],
      ['{"a":{"dtype":null,"shape":[4],"data_offsets":[0,4]}}', /unknown or unsupported dtype null/],
      ['{"a":{"dtype":["U8"],"shape":[4],"data_offsets":[0,4]}}', /unknown or unsupported dtype \["U8"\]/],
      ['{"a":{"dtype":"u8","shape":[4],"data_offsets":[0,4]}}', /unknown or unsupported dtype "u8"/],
      ['{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', /unknown or unsupported dtype "F16"/],
      ['{"a":{"shape":[4],"data_offsets":[0,4]}}', /unknown or unsupported dtype undefined/],
      ['{"a":{"dtype":"U8","shape":"4","data_offsets":[0,4]}}', /shape "4" is not a list/],
      ['{"a":{"dtype":"U8","shape":[[4]],"data_offsets":[0,4]}}', /shape \[\[4\]\] is not a list/],
      ['{"a":{"dtype":"U8","shape":null,"data_offsets":[0,4]}}', /shape null is not a list/],
      ['{"a":{"dtype":"U8","shape":[4.5],"data_offsets":[0,4]}}', /shape \[4\.5\] is not a list/],
      ['{"a":{"dtype":"U8","shape":[9007199254740993],"data_offsets":[0,4]}}', /is not a list of non-negative integers/],
      ['{"a":{"dtype":"U8","shape":[4],"data_offsets":["0","4"]}}', /data_offsets \["0","4"\] is not a pair/],
      ['{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4,4]}}', /data_offsets \[0,4,4\] is not a pair/],
      ['{"a":{"dtype":"U8","shape":[4],"data_offsets":[-0.5,4]}}', /is not a pair of non-negative integers/],
      ['{"a":{"dtype":"U8","shape":[4],"data_offsets":{"0":0,"1":4}}}', /is not a pair/],
      ['{"a":{"dtype":"U8","shape":[4]}}', /data_offsets undefined is not a pair/],
      ['{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', /duplicate key "a"/],
      ['{"a":{"dtype":"U8","dtype":"F32","shape":[4],"data_offsets":[0,4]}}', /duplicate key "dtype"/],
      [' {"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', /header does not start with "\{"/],
      ['{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}x', /header is not valid JSON/],
    ];
    for (const [raw, message] of refused) {
      const m = oneLine(() => decodeSafetensors(handmade(null, data, { raw }), 'types'));
      expect(m, raw).toMatch(message);
      expect(m).toMatch(/^types: /);
    }
    // product(shape)·itemsize must equal the span, in every dtype
    for (const [dtype, size] of [['U8', 1], ['F32', 4], ['I32', 4], ['F64', 8], ['I64', 8]] as const) {
      const bytes = new Uint8Array(24);
      expect(decodeSafetensors(handmade({ a: { dtype, shape: [24 / size], data_offsets: [0, 24] } }, bytes)).tensors.a.shape).toEqual([24 / size]);
      expect(() => decodeSafetensors(handmade({ a: { dtype, shape: [24 / size + 1], data_offsets: [0, 24] } }, bytes))).toThrow(/span 24 bytes but/);
    }
  });
});

describe('safetensors files that are not regular files', () => {
  it('refuses a directory, a FIFO and a character device without reading (or hanging)', () => {
    const fifo = join(dir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    const folder = join(dir, 'folder.safetensors');
    mkdirSync(folder);
    for (const [path, kind] of [[folder, 'a directory'], [fifo, 'a FIFO \\(named pipe\\)'], ['/dev/null', 'a character device'], [dir, 'a directory']]) {
      const message = oneLine(() => readSafetensors(path));
      expect(message).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}: is ${kind}, not a regular file; give a safetensors checkpoint file$`));
    }
  });

  it('follows a symbolic link to a regular file, and refuses one to a FIFO', () => {
    const target = join(dir, 'target.safetensors');
    writeSafetensors(target, { a: { dtype: 'U8', shape: [1], data: Uint8Array.of(9) } });
    symlinkSync(target, join(dir, 'link.safetensors'));
    expect(readSafetensors(join(dir, 'link.safetensors')).tensors.a.data).toEqual(Uint8Array.of(9));
    symlinkSync(join(dir, 'pipe.safetensors'), join(dir, 'link-to-pipe.safetensors'));
    expect(() => readSafetensors(join(dir, 'link-to-pipe.safetensors'))).toThrow(/is a FIFO/);
  });

  it('reads the header before the data, so a file that lies about its length costs no read of the data', () => {
    const path = join(dir, 'short.safetensors');
    const good = encodeSafetensors(sample());
    writeFileSync(path, good.subarray(0, good.length - 1));
    expect(() => readSafetensors(path)).toThrow(/short\.safetensors: tensor "[^"]+": data_offsets \[\d+, \d+\] out of range/);
  });
});
