import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseIdx, readIdx, decodeIdx, DataError, isGzip } from '../src/node/idx-file.js';

/** An IDX file: two zero bytes, type code, rank, big-endian dims, data. */
function idxBytes(dims: number[], data: ArrayLike<number>, { type = 0x08, first = [0, 0] } = {}): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[0] = first[0];
  out[1] = first[1];
  out[2] = type;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

const pseudo = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed * 11 + ((i * i) >> 3)) & 255);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-idx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseIdx', () => {
  it('reads u8 labels (rank 1) and images (rank 3) with big-endian dims', () => {
    const labels = pseudo(13, 1);
    const parsed = parseIdx(idxBytes([13], labels), 'labels', 1);
    expect(parsed.dims).toEqual([13]);
    expect(Array.from(parsed.data)).toEqual(Array.from(labels));

    // dims above 255 exercise all bytes of the big-endian u32
    const images = pseudo(3 * 5 * 7, 2);
    const big = pseudo(1 * 300 * 2, 3);
    expect(parseIdx(idxBytes([3, 5, 7], images), 'images', 3)).toEqual({ dims: [3, 5, 7], data: images });
    const parsedBig = parseIdx(idxBytes([1, 300, 2], big), 'big');
    expect(parsedBig.dims).toEqual([1, 300, 2]);
    expect(Array.from(parsedBig.data)).toEqual(Array.from(big));
  });

  it('accepts a zero-length first dimension', () => {
    expect(parseIdx(idxBytes([0, 4, 4], []), 'empty', 3)).toEqual({ dims: [0, 4, 4], data: new Uint8Array(0) });
  });

  it('detects gzip by its magic bytes', () => {
    const raw = idxBytes([3, 2, 5], pseudo(30, 4));
    const gz = gzipSync(raw);
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(raw)).toBe(false);
    const parsed = parseIdx(gz, 'x.gz', 3);
    expect(parsed.dims).toEqual([3, 2, 5]);
    expect(Array.from(parsed.data)).toEqual(Array.from(pseudo(30, 4)));
  });

  it('refuses a wrong magic number, saying what it found and expected', () => {
    const bytes = idxBytes([4], pseudo(4, 5), { first: [0x12, 0x34] });
    expect(() => parseIdx(bytes, 'weird.bin', 1)).toThrow(DataError);
    expect(() => parseIdx(bytes, 'weird.bin', 1)).toThrow(/weird\.bin: wrong magic number 0x12340801, expected 0x00000801/);
    // an image file where labels were expected
    expect(() => parseIdx(idxBytes([2, 2, 2], pseudo(8, 6)), 'imgs', 1)).toThrow(/imgs: wrong magic number 0x00000803, expected 0x00000801/);
  });

  it('refuses data types other than u8', () => {
    expect(() => parseIdx(idxBytes([2], [0, 0, 0, 0, 0, 0, 0, 0], { type: 0x0d }), 'floats', 1)).toThrow(/floats: data type 0x0d \(f32\) is not supported/);
    expect(() => parseIdx(idxBytes([2], [0, 0], { type: 0x09 }), 'signed')).toThrow(/0x09 \(i8\) is not supported/);
  });

  it('refuses truncated headers and data, giving needed and available bytes', () => {
    const full = idxBytes([3, 5, 7], pseudo(105, 7));
    expect(() => parseIdx(full.subarray(0, full.length - 5), 'short', 3)).toThrow(/short: truncated data: declared dims 3×5×7 need 105 bytes, file has 100/);
    expect(() => parseIdx(full.subarray(0, 10), 'hdr', 3)).toThrow(/hdr: truncated IDX header: 3 dimensions need 16 header bytes, file has 10/);
    expect(() => parseIdx(full.subarray(0, 3), 'tiny')).toThrow(/tiny: truncated IDX file/);
    expect(() => parseIdx(new Uint8Array([...full, 1, 2]), 'long', 3)).toThrow(/long: 2 unexpected bytes after the data/);
  });

  it('refuses truncated or corrupt gzip', () => {
    const gz = gzipSync(idxBytes([50, 9], pseudo(450, 8)));
    expect(() => parseIdx(gz.subarray(0, gz.length - 12), 'cut.gz')).toThrow(/cut\.gz: corrupt or truncated gzip file/);
    const corrupt = Uint8Array.from(gz);
    for (let i = 12; i < corrupt.length - 8; i += 3) corrupt[i] ^= 0x5a;
    expect(() => parseIdx(corrupt, 'bad.gz')).toThrow(/bad\.gz: corrupt or truncated gzip file/);
  });
});

describe('readIdx', () => {
  it('reads raw and gzipped files from disk', () => {
    const labels = pseudo(11, 9).map((v) => v % 10);
    writeFileSync(join(dir, 'l-raw'), idxBytes([11], labels));
    writeFileSync(join(dir, 'l.gz'), gzipSync(idxBytes([11], labels)));
    for (const f of ['l-raw', 'l.gz']) {
      const { dims, data } = readIdx(join(dir, f), 1);
      expect(dims).toEqual([11]);
      expect(Array.from(data)).toEqual(Array.from(labels));
    }
  });

  it('names a missing file', () => {
    const path = join(dir, 'nope-idx1-ubyte');
    expect(() => readIdx(path)).toThrow(DataError);
    expect(() => readIdx(path)).toThrow(/nope-idx1-ubyte: file not found/);
  });

  it('names the file in parse errors', () => {
    const path = join(dir, 'trunc.gz');
    const gz = gzipSync(idxBytes([7, 3, 3], pseudo(63, 10)));
    writeFileSync(path, gz.subarray(0, gz.length >> 1));
    expect(() => readIdx(path, 3)).toThrow(new RegExp(`${path.replace(/[.]/g, '\\.')}: corrupt or truncated gzip`));
  });
});

describe('IDX: hostile and broken files', () => {
  const oneLine = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      expect((e as Error).message).not.toMatch(/[\n\r]/);
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };

  it('refuses a FIFO, a directory and a character device without reading (or hanging)', () => {
    const fifo = join(dir, 'fifo-idx3-ubyte');
    execFileSync('mkfifo', [fifo]);
    const folder = join(dir, 'folder-idx3-ubyte.gz');
    mkdirSync(folder);
    for (const [path, kind] of [[fifo, 'a FIFO'], [folder, 'a directory'], ['/dev/zero', 'a character device']]) {
      expect(oneLine(() => readIdx(path, 3))).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}: cannot read: is ${kind}`));
    }
  });

  it('refuses absurd declared sizes from the header alone, raw or gzipped', () => {
    for (const dims of [[2 ** 31, 28, 28], [2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1], [2 ** 30 + 1], [70000, 200, 200]]) {
      const header = idxBytes(dims, []);
      const raw = new Uint8Array([...header, ...new Uint8Array(1000)]);
      expect(oneLine(() => parseIdx(raw, 'absurd', dims.length))).toMatch(/^absurd: IDX header declares dims .* bytes of data, more than the 1 GiB limit/);
      expect(oneLine(() => parseIdx(gzipSync(raw), 'absurd.gz', dims.length))).toMatch(/^absurd\.gz: IDX header declares dims/);
      const path = join(dir, `absurd-${dims.length}.gz`);
      writeFileSync(path, gzipSync(raw));
      expect(oneLine(() => readIdx(path, dims.length))).toMatch(/more than the 1 GiB limit/);
    }
  });

  it('stops decompressing at the size the header declares: a gzip bomb is reported as too large, not as corrupt', () => {
    // 8 MiB of zeros compresses to ~8 KB; 640 gzip members of it are a 5 GiB bomb in ~5 MB.
    const zeros = gzipSync(new Uint8Array(8 * 1024 * 1024), { level: 9 });
    const bombTail = new Uint8Array(zeros.length * 640);
    for (let i = 0; i < 640; i++) bombTail.set(zeros, i * zeros.length);
    for (const [dims, label] of [[[60000, 28, 28], 'fashion-sized'], [[10, 28, 28], 'small'], [[1, 1, 1], 'tiny']] as const) {
      const raw = new Uint8Array(16 + dims[0] * dims[1] * dims[2]);
      raw.set(idxBytes([...dims], []));
      const head = gzipSync(raw);
      const bomb = new Uint8Array(head.length + bombTail.length);
      bomb.set(head);
      bomb.set(bombTail, head.length);
      const path = join(dir, `bomb-${label}.gz`);
      writeFileSync(path, bomb);
      const before = process.memoryUsage().rss;
      const started = performance.now();
      const message = oneLine(() => readIdx(path, 3));
      expect(message, label).toMatch(/(decompresses to more than the \d+ bytes its IDX header declares|compressed bytes, far more than the \d+ bytes its IDX header declares)/);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1024 * 1024);
    }
    // a header that claims far more than its few compressed bytes could hold is refused before decompressing
    const liar = gzipSync(idxBytes([1_000_000, 28, 28], new Uint8Array(10)));
    expect(oneLine(() => parseIdx(liar, 'liar.gz', 3))).toMatch(/^liar\.gz: truncated: its \d+ compressed bytes cannot hold the 784000016 bytes its IDX header declares/);
  });

  it('refuses data shorter or longer than the dims, raw and gzipped, from memory and from disk', () => {
    for (const [dims, have] of [[[3, 5, 7], 104], [[3, 5, 7], 106], [[4], 0], [[4], 9], [[0, 28, 28], 1]] as const) {
      const bytes = new Uint8Array([...idxBytes([...dims], []), ...pseudo(have, 1)]);
      const want = dims.reduce((a, b) => a * b, 1);
      const message = have < want ? /truncated data: declared dims/ : /unexpected bytes after the data declared by dims/;
      expect(oneLine(() => parseIdx(bytes, 'n', dims.length))).toMatch(message);
      expect(oneLine(() => parseIdx(gzipSync(bytes), 'n.gz', dims.length))).toMatch(have > want ? /decompresses to more than|unexpected bytes/ : message);
      const path = join(dir, `len-${dims.join('x')}-${have}`);
      writeFileSync(path, bytes);
      expect(oneLine(() => readIdx(path, dims.length))).toMatch(message);
    }
  });

  it('calls the header check before reading the data', () => {
    const path = join(dir, 'checked.gz');
    writeFileSync(path, gzipSync(idxBytes([2, 3, 3], pseudo(18, 2))));
    const seen: number[][] = [];
    expect(readIdx(path, 3, (h) => { seen.push(h.dims); }).dims).toEqual([2, 3, 3]);
    expect(seen).toEqual([[2, 3, 3]]);
    expect(() => readIdx(path, 3, () => { throw new DataError('no thanks'); })).toThrow('no thanks');
  });

  it('decodeIdx (browser-safe) parses raw bytes and asks for gzip to be decompressed first', () => {
    expect(decodeIdx(idxBytes([2, 2], [1, 2, 3, 4]), 'raw', 2).dims).toEqual([2, 2]);
    expect(() => decodeIdx(gzipSync(idxBytes([2, 2], [1, 2, 3, 4])), 'z', 2)).toThrow(/z: gzip-compressed; decompress it before decoding/);
  });
});
