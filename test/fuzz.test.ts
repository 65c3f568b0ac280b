// Fuzzing the readers of untrusted files: a seeded mutator breaks a real checkpoint (byte flips, truncations,
// length fields, JSON variants, shapes, offsets, dtypes, metadata) and a small IDX data set (magic, dims,
// truncation, gzip, sizes, pixels, labels). Every result must be a clean refusal (an error runCli prints as one
// `error:` line naming the file) or a load that is verifiably right: tensors equal to the original's bytes, or
// to exactly the mutated bytes where only data was touched. CPU only (decoding and the host-side architecture
// checks that run before any GPU allocation).
// Replay: FUZZ_SEED=<seed> [FUZZ_CASE=<index>] npx vitest run test/fuzz.test.ts
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodeSafetensors, type SafetensorsContents } from '../src/io/safetensors.js';
import { inspectGeneratorState } from '../src/gan/generator-state.js';
import { loadFashionMnist } from '../src/node/mnist-files.js';
import { cliErrorLine } from '../src/node/args.js';
import { rng } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240615);
const ONLY = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);
const CHECKPOINT_CASES = 400;
const IDX_CASES = 200;

type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-fuzz-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A refusal runCli prints as one clean line naming `file`; returns the problem, or null when it is clean. */
function uncleanRefusal(e: unknown, file: string): string | null {
  const line = cliErrorLine(e);
  if (line === undefined) return `unexpected error type: ${String((e as Error)?.stack ?? e).slice(0, 300)}`;
  if (/[\n\r]/.test(line)) return `error spans several lines: ${line.slice(0, 200)}`;
  if (line.length > 400) return `error line of ${line.length} characters`;
  if (!line.includes(file)) return `error does not name ${file}: ${line.slice(0, 200)}`;
  return null;
}

const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};
const bytesOf = (data: ArrayBufferView) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.compare(Buffer.from(bytesOf(a)), Buffer.from(bytesOf(b))) === 0;

describe('fuzz: broken checkpoints', () => {
  const original = new Uint8Array(readFileSync('models/dcgan-ankle-boot.safetensors'));
  const headerLength = new DataView(original.buffer).getUint32(0, true);
  const headerText = new TextDecoder().decode(original.subarray(8, 8 + headerLength));
  const header = JSON.parse(headerText) as Record<string, any>;
  const data = original.subarray(8 + headerLength);
  const reference = decodeSafetensors(original, 'original');
  const names = Object.keys(reference.tensors);

  /** A file from header JSON text (padded with `pad` spaces) and a data section, with the exact length. */
  function build(text: string, body: Uint8Array = data, pad = 0): Uint8Array {
    const json = new TextEncoder().encode(text + ' '.repeat(pad));
    const out = new Uint8Array(8 + json.length + body.length);
    new DataView(out.buffer).setUint32(0, json.length, true);
    out.set(json, 8);
    out.set(body, 8 + json.length);
    return out;
  }
  const clone = () => JSON.parse(headerText) as Record<string, any>;

  // What a correct load must give: 'same' tensors as the original, or the tensors 'swapped', or the original
  // layout read from the mutated 'data'; 'refuse' when no correct load exists.
  type Expect = { kind: 'refuse' } | { kind: 'same' } | { kind: 'same-or-refuse' } | { kind: 'data' } | { kind: 'swapped'; a: string; b: string };
  interface Case { what: string; bytes: Uint8Array; expect: Expect }

  const mutators: [string, (r: Random) => Case][] = [
    ['header byte flip', (r) => {
      const b = original.slice();
      const flips = 1 + int(r, 4);
      const at: number[] = [];
      for (let i = 0; i < flips; i++) {
        const p = 8 + int(r, headerLength);
        at.push(p);
        b[p] ^= 1 << int(r, 8);
      }
      return { what: `flip bits at header bytes ${at.join(',')}`, bytes: b, expect: { kind: 'same-or-refuse' } };
    }],
    ['data byte flip', (r) => {
      const b = original.slice();
      const at: number[] = [];
      for (let i = 1 + int(r, 8); i > 0; i--) {
        const p = 8 + headerLength + int(r, data.length);
        at.push(p);
        b[p] ^= 1 + int(r, 255);
      }
      return { what: `change data bytes ${at.join(',')}`, bytes: b, expect: { kind: 'data' } };
    }],
    ['non-finite weight', (r) => {
      const b = original.slice();
      const p = 8 + headerLength + 4 * int(r, data.length / 4);
      const value = pick(r, [NaN, Infinity, -Infinity]);
      new DataView(b.buffer).setFloat32(p, value, true);
      return { what: `write ${value} at byte ${p}`, bytes: b, expect: { kind: 'data' } };
    }],
    ['truncation', (r) => {
      const n = pick(r, [0, 1, 7, 8, 9, 8 + int(r, headerLength), 8 + headerLength, original.length - 1, original.length - 1 - int(r, data.length)]);
      return { what: `truncate to ${n} bytes`, bytes: original.slice(0, n), expect: { kind: 'refuse' } };
    }],
    ['trailing bytes', (r) => {
      const extra = Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
      return { what: `append ${extra.length} bytes`, bytes: concat(original, extra), expect: { kind: 'refuse' } };
    }],
    ['header length field', (r) => {
      const b = original.slice();
      const view = new DataView(b.buffer);
      const choice = int(r, 4);
      let what: string;
      if (choice === 0) {
        const delta = pick(r, [-9, -8, -3, -2, -1, 1, 2, 3, 8, 9]);
        view.setUint32(0, headerLength + delta, true);
        what = `header length ${delta > 0 ? '+' : ''}${delta}`;
      } else if (choice === 1) {
        view.setUint32(4, 1 + int(r, 0xffffffff), true);
        what = `header length high word ${view.getUint32(4, true)}`;
      } else if (choice === 2) {
        view.setUint32(0, int(r, 0xffffffff), true);
        what = `header length ${view.getUint32(0, true)}`;
      } else {
        view.setUint32(0, pick(r, [0, 1, 2, original.length - 8, original.length]), true);
        what = `header length ${view.getUint32(0, true)}`;
      }
      return { what, bytes: b, expect: view.getUint32(0, true) === headerLength && view.getUint32(4, true) === 0 ? { kind: 'same' } : { kind: 'refuse' } };
    }],
    ['JSON layout variant', (r) => {
      // The same header written differently: key order, indentation, padding. Must load, unchanged.
      const h = clone();
      const keys = Object.keys(h);
      for (let i = keys.length - 1; i > 0; i--) {
        const j = int(r, i + 1);
        [keys[i], keys[j]] = [keys[j], keys[i]];
      }
      const reordered = Object.fromEntries(keys.map((k) => [k, h[k]]));
      const indent = pick(r, [0, 1, 2, '\t']);
      const pad = int(r, 24);
      return { what: `reorder keys, indent ${JSON.stringify(indent)}, pad ${pad}`, bytes: build(JSON.stringify(reordered, null, indent), data, pad), expect: { kind: 'same' } };
    }],
    ['JSON entry variant', (r) => {
      const h = clone();
      const name = pick(r, names);
      const choice = int(r, 7);
      const text = JSON.stringify(h);
      switch (choice) {
        case 0: delete h[name]; return { what: `remove entry ${name}`, bytes: build(JSON.stringify(h)), expect: { kind: 'refuse' } };
        case 1: h[`${name}x`] = h[name]; delete h[name]; return { what: `rename ${name}`, bytes: build(JSON.stringify(h)), expect: { kind: 'refuse' } };
        case 2: return { what: `duplicate key ${name}`, bytes: build(text.replace('{', `{${JSON.stringify(name)}:${JSON.stringify(h[name])},`)), expect: { kind: 'refuse' } };
        case 3: h[name].extra = pick(r, [1, 'x', null, [1]]); return { what: `unknown field in ${name}`, bytes: build(JSON.stringify(h)), expect: { kind: 'same' } };
        case 4: {
          const depth = pick(r, [17, 100, 6000]);
          return { what: `nest ${name}.shape ${depth} deep`, bytes: build(JSON.stringify({ ...h, [name]: { ...h[name], shape: 0 } }).replace('"shape":0', `"shape":${'['.repeat(depth)}1${']'.repeat(depth)}`)), expect: { kind: 'refuse' } };
        }
        case 5: return { what: `entry ${name} not an object`, bytes: build(JSON.stringify({ ...h, [name]: pick(r, [null, 1, 'x', [1, 2]]) })), expect: { kind: 'refuse' } };
        default: {
          const cut = int(r, text.length - 1);
          return { what: `header JSON cut at ${cut}`, bytes: build(text.slice(0, cut)), expect: { kind: 'refuse' } };
        }
      }
    }],
    ['shape', (r) => {
      const h = clone();
      const name = pick(r, names);
      const shape = h[name].shape as number[];
      const choice = int(r, 6);
      let next: unknown;
      if (choice === 0) next = [...shape].reverse();
      else if (choice === 1) next = shape.map((d, i) => (i === int(r, shape.length) ? d * 2 : d));
      else if (choice === 2) next = [...shape, 1];
      else if (choice === 3) next = pick(r, [[1, 16384, 7, 7], [2 ** 40, 2 ** 40], [-1], [1.5], ['4'], null, 3, [], [0]]);
      else if (choice === 4) next = shape.slice(1);
      else next = shape.map((d) => (d > 1 ? d - 1 : d));
      h[name].shape = next;
      const same = JSON.stringify(next) === JSON.stringify(shape);
      return { what: `${name}.shape ${JSON.stringify(shape)} → ${JSON.stringify(next)}`, bytes: build(JSON.stringify(h)), expect: same ? { kind: 'same' } : { kind: 'refuse' } };
    }],
    ['offsets', (r) => {
      const h = clone();
      const name = pick(r, names);
      const [begin, end] = h[name].data_offsets as number[];
      const choice = int(r, 5);
      if (choice === 0) {
        // two tensors of the same shape trade places: still a valid file, with their values swapped
        const peers = names.filter((n) => n !== name && JSON.stringify(h[n].shape) === JSON.stringify(h[name].shape));
        if (peers.length) {
          const other = pick(r, peers);
          [h[name].data_offsets, h[other].data_offsets] = [h[other].data_offsets, h[name].data_offsets];
          return { what: `swap offsets of ${name} and ${other}`, bytes: build(JSON.stringify(h)), expect: { kind: 'swapped', a: name, b: other } };
        }
      }
      const delta = pick(r, [-4, -1, 1, 4, 8]);
      const next = pick(r, [[begin + delta, end + delta], [begin, end + delta], [begin + delta, end], [end, begin], [begin, end, end], [String(begin), end], [begin + 0.5, end], [-begin - 1, end]]);
      h[name].data_offsets = next;
      return { what: `${name}.data_offsets [${begin}, ${end}] → ${JSON.stringify(next)}`, bytes: build(JSON.stringify(h)), expect: { kind: 'refuse' } };
    }],
    ['dtype', (r) => {
      const h = clone();
      const name = pick(r, names);
      const dtype = pick(r, ['F64', 'I32', 'U8', 'I64', 'BF16', 'F16', 'f32', '', null, 7, ['F32'], 'F32 ', 'X'.repeat(100000)]);
      h[name].dtype = dtype;
      return { what: `${name}.dtype → ${JSON.stringify(dtype)?.slice(0, 20)}`, bytes: build(JSON.stringify(h)), expect: { kind: 'refuse' } };
    }],
    ['metadata', (r) => {
      const h = clone();
      const choice = int(r, 6);
      if (choice === 0) { h.__metadata__ = null; return { what: 'metadata null', bytes: build(JSON.stringify(h)), expect: { kind: 'same' } }; }
      if (choice === 1) { delete h.__metadata__; return { what: 'no metadata', bytes: build(JSON.stringify(h)), expect: { kind: 'same' } }; }
      if (choice === 2) { h.__metadata__ = { ...h.__metadata__, ['k'.repeat(1 + int(r, 5000))]: 'v'.repeat(int(r, 5000)) }; return { what: 'long metadata entry', bytes: build(JSON.stringify(h)), expect: { kind: 'same' } }; }
      if (choice === 3) { const v = pick(r, [1, null, true, [], {}]); h.__metadata__ = { ...h.__metadata__, step: v }; return { what: `metadata step ${JSON.stringify(v)}`, bytes: build(JSON.stringify(h)), expect: { kind: 'refuse' } }; }
      if (choice === 4) { const v = pick(r, [[], 'x', 3, true, [['a', 'b']]]); h.__metadata__ = v; return { what: `metadata ${JSON.stringify(v)}`, bytes: build(JSON.stringify(h)), expect: { kind: 'refuse' } }; }
      h.__metadata__ = { ...h.__metadata__, note: `a\n"b"\u2028${'é'.repeat(int(r, 100))}` };
      return { what: 'metadata with escapes', bytes: build(JSON.stringify(h)), expect: { kind: 'same' } };
    }],
  ];

  /** What a correct load of case `c` holds; null when a refusal is the only right answer. */
  function check(c: Case, file: string): { outcome: 'refused' | 'loaded'; problem: string | null } {
    let loaded: SafetensorsContents;
    try {
      loaded = decodeSafetensors(c.bytes, file);
      inspectGeneratorState(loaded.tensors, file);
    } catch (e) {
      const unclean = uncleanRefusal(e, file);
      if (unclean) return { outcome: 'refused', problem: unclean };
      if (c.expect.kind === 'same') return { outcome: 'refused', problem: `refused a valid variant: ${(e as Error).message.slice(0, 200)}` };
      if (c.expect.kind === 'data') {
        // a data-only change may be refused only for a non-finite value, at the tensor and index it names
        const m = /tensor "([^"]+)" holds (NaN|Infinity|-Infinity) at index (\d+)/.exec((e as Error).message);
        if (!m) return { outcome: 'refused', problem: `data change refused for another reason: ${(e as Error).message.slice(0, 200)}` };
        const span = header[m[1]].data_offsets as number[];
        const values = new Float32Array(c.bytes.slice(8 + headerLength + span[0], 8 + headerLength + span[1]).buffer);
        const i = Number(m[3]);
        if (Number.isFinite(values[i]) || values.subarray(0, i).some((v) => !Number.isFinite(v))) return { outcome: 'refused', problem: `wrong index reported: ${m[0]}` };
      }
      return { outcome: 'refused', problem: null };
    }
    const expectTensors = (want: (name: string) => Uint8Array): string | null => {
      if (Object.keys(loaded.tensors).sort().join() !== names.slice().sort().join()) return 'loaded a different set of tensors';
      for (const name of names) {
        if (!sameBytes(loaded.tensors[name].data, want(name))) return `tensor ${name} differs from what the file holds`;
        if (JSON.stringify(loaded.tensors[name].shape) !== JSON.stringify(reference.tensors[name].shape)) return `tensor ${name} has another shape`;
      }
      return null;
    };
    const original = (name: string) => bytesOf(reference.tensors[name].data);
    switch (c.expect.kind) {
      case 'refuse': return { outcome: 'loaded', problem: 'loaded a file that must be refused' };
      case 'same': case 'same-or-refuse': return { outcome: 'loaded', problem: expectTensors(original) };
      case 'swapped': {
        const { a, b } = c.expect;
        return { outcome: 'loaded', problem: expectTensors((n) => original(n === a ? b : n === b ? a : n)) };
      }
      case 'data': {
        const mutated = (name: string) => {
          const [begin, end] = header[name].data_offsets as number[];
          return c.bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
        };
        const bad = names.find((n) => new Float32Array(mutated(n).slice().buffer).some((v) => !Number.isFinite(v)));
        if (bad) return { outcome: 'loaded', problem: `loaded a non-finite value in ${bad}` };
        return { outcome: 'loaded', problem: expectTensors(mutated) };
      }
    }
  }

  it(`${CHECKPOINT_CASES} mutated checkpoints are refused cleanly or load exactly right (seed ${SEED})`, () => {
    const failures: string[] = [];
    const counts = { refused: 0, loaded: 0 };
    const byKind: Record<string, { refused: number; loaded: number }> = {};
    for (let i = 0; i < CHECKPOINT_CASES; i++) {
      if (ONLY !== undefined && i !== ONLY) continue;
      const r = rng((SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
      const [kind, mutate] = mutators[i % mutators.length];
      const c = mutate(r);
      const file = `fuzz-${i}.safetensors`;
      const { outcome, problem } = check(c, file);
      counts[outcome]++;
      (byKind[kind] ??= { refused: 0, loaded: 0 })[outcome]++;
      if (problem) failures.push(`FUZZ_SEED=${SEED} FUZZ_CASE=${i} [${kind}] ${c.what}: ${problem}`);
    }
    console.log(`checkpoint fuzz (seed ${SEED}): ${counts.refused + counts.loaded} cases, ${counts.refused} clean refusals, ${counts.loaded} correct loads; by kind ${JSON.stringify(byKind)}`);
    expect(failures).toEqual([]);
    if (ONLY === undefined) expect(counts.loaded).toBeGreaterThan(20); // the oracle is exercised both ways
  });
});

describe('fuzz: broken IDX data sets', () => {
  const N = 12;
  const pixels = Uint8Array.from({ length: N * 784 }, (_, i) => (i * 37 + (i >> 5)) & 255);
  const labels = Uint8Array.from({ length: N }, (_, i) => (i * 3) % 10);
  const idx = (dims: number[], body: Uint8Array) => {
    const out = new Uint8Array(4 + 4 * dims.length + body.length);
    out[2] = 8;
    out[3] = dims.length;
    dims.forEach((d, k) => new DataView(out.buffer).setUint32(4 + 4 * k, d, false));
    out.set(body, 4 + 4 * dims.length);
    return out;
  };
  const imagesRaw = idx([N, 28, 28], pixels);
  const labelsRaw = idx([N], labels);

  interface IdxCase { what: string; file: 'images' | 'labels'; gz: boolean; bytes: Uint8Array; raw: Uint8Array; expect: 'refuse' | 'same-or-refuse' | 'content' }

  function mutate(r: Random): IdxCase {
    const file = r() < 0.6 ? 'images' : 'labels';
    const raw = Uint8Array.from(file === 'images' ? imagesRaw : labelsRaw);
    const headerBytes = file === 'images' ? 16 : 8;
    const gz = r() < 0.5;
    const choice = int(r, 7);
    const finish = (what: string, bytes: Uint8Array, expect: IdxCase['expect']): IdxCase => ({ what, file, gz, bytes: gz ? gzipSync(bytes) : bytes, raw: bytes, expect });
    if (choice === 0) {
      const p = int(r, 4);
      raw[p] ^= 1 + int(r, 255);
      return finish(`magic byte ${p} → ${raw[p]}`, raw, 'refuse');
    }
    if (choice === 1) {
      const k = int(r, (headerBytes - 4) / 4);
      const old = new DataView(raw.buffer).getUint32(4 + 4 * k, false);
      const value = pick(r, [0, 1, old - 1, old + 1, 27, 29, 32, 56, 14, 2 ** 31, 2 ** 32 - 1]) >>> 0;
      new DataView(raw.buffer).setUint32(4 + 4 * k, value, false);
      return finish(`dim ${k} ${old} → ${value}`, raw, value === old ? 'same-or-refuse' : 'refuse');
    }
    if (choice === 2) {
      const n = pick(r, [0, 3, headerBytes - 1, headerBytes, raw.length - 1, int(r, raw.length)]);
      return finish(`truncate to ${n}`, raw.slice(0, n), 'refuse');
    }
    if (choice === 3) return finish('append bytes', new Uint8Array([...raw, ...Array.from({ length: 1 + int(r, 9) }, () => int(r, 256))]), 'refuse');
    if (choice === 4) {
      // data bytes: pixels load as the new values; labels load when they stay below 10
      for (let k = 1 + int(r, 5); k > 0; k--) raw[headerBytes + int(r, raw.length - headerBytes)] = file === 'labels' && r() < 0.5 ? int(r, 10) : int(r, 256);
      return finish('change data bytes', raw, 'content');
    }
    if (choice === 5) {
      // gzip damage: header fields, compressed stream, CRC or size; a harmless header field may still load
      const z = gzipSync(raw);
      const p = int(r, z.length);
      z[p] ^= 1 << int(r, 8);
      return { what: `gzip byte ${p} of ${z.length} flipped`, file, gz: true, bytes: z, raw, expect: 'same-or-refuse' };
    }
    const z = gzipSync(raw);
    const n = int(r, z.length);
    return { what: `gzip truncated to ${n} of ${z.length}`, file, gz: true, bytes: z.slice(0, n), raw, expect: 'refuse' };
  }

  it(`${IDX_CASES} mutated IDX sets are refused cleanly or load exactly right (seed ${SEED})`, () => {
    const failures: string[] = [];
    const counts = { refused: 0, loaded: 0 };
    for (let i = 0; i < IDX_CASES; i++) {
      if (ONLY !== undefined && i !== ONLY) continue;
      const r = rng((SEED ^ Math.imul(i + 7, 0x85ebca6b)) >>> 0);
      const c = mutate(r);
      const d = join(dir, `idx-${i}`);
      mkdirSync(d);
      const imagesName = `t10k-images-idx3-ubyte${c.file === 'images' && c.gz ? '.gz' : ''}`;
      const labelsName = `t10k-labels-idx1-ubyte${c.file === 'labels' && c.gz ? '.gz' : ''}`;
      writeFileSync(join(d, imagesName), c.file === 'images' ? c.bytes : imagesRaw);
      writeFileSync(join(d, labelsName), c.file === 'labels' ? c.bytes : labelsRaw);
      const mutatedPath = join(d, c.file === 'images' ? imagesName : labelsName);
      const fail = (problem: string) => failures.push(`FUZZ_SEED=${SEED} FUZZ_CASE=${i} [${c.file}${c.gz ? '.gz' : ''}] ${c.what}: ${problem}`);
      let loaded;
      try {
        loaded = loadFashionMnist({ dir: d, split: 'test' });
      } catch (e) {
        counts.refused++;
        const unclean = uncleanRefusal(e, mutatedPath);
        if (unclean) fail(unclean);
        else if (c.expect === 'content') {
          // a content change may be refused only for a label outside 0–9, at the first such index
          const m = /label (\d+) at index (\d+) is outside 0–9/.exec((e as Error).message);
          const first = c.raw.subarray(8).findIndex((v) => v >= 10);
          if (!m || c.file !== 'labels' || Number(m[2]) !== first) fail(`content change refused wrongly: ${(e as Error).message.slice(0, 200)}`);
        }
        continue;
      }
      counts.loaded++;
      if (c.expect === 'refuse') {
        fail('loaded a data set that must be refused');
        continue;
      }
      // 'content': the mutated bytes; 'same-or-refuse' (harmless gzip damage): the original bytes
      const truth = c.expect === 'content' ? c.raw : c.file === 'images' ? imagesRaw : labelsRaw;
      const wantPixels = c.file === 'images' ? truth.subarray(16) : pixels;
      const wantLabels = c.file === 'labels' ? truth.subarray(8) : labels;
      const images = Float32Array.from(wantPixels, (p) => p / 127.5 - 1);
      if (loaded.count !== N || !sameBytes(loaded.images, images) || !sameBytes(loaded.labels, wantLabels)) fail('loaded values differ from the file\'s');
    }
    console.log(`IDX fuzz (seed ${SEED}): ${counts.refused + counts.loaded} cases, ${counts.refused} clean refusals, ${counts.loaded} correct loads`);
    expect(failures).toEqual([]);
  });
});
