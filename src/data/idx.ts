// IDX files, the MNIST container: two zero bytes, a type code, a dimension count, big-endian u32 dims, then the
// data. Only unsigned bytes (type 0x08) are supported, which is all the (Fashion-)MNIST files use. Gzip is detected
// by its magic bytes, so `x-ubyte` and `x-ubyte.gz` both work.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A problem with a data file or a data selection; the message names the file or the selection. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export interface IdxFile {
  dims: number[];
  data: Uint8Array;
}

const U8 = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: 'u8', 0x09: 'i8', 0x0b: 'i16', 0x0c: 'i32', 0x0d: 'f32', 0x0e: 'f64' };

const hex32 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an IDX file's bytes (gzipped or raw). `name` is used in error messages. With `expectedRank`, a file
 * whose dimension count differs is refused as having the wrong magic number (0x00000801 labels, 0x00000803 images).
 */
export function parseIdx(bytes: Uint8Array, name: string, expectedRank?: number): IdxFile {
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DataError(`${name}: corrupt or truncated gzip file (zlib: ${(e as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new DataError(`${name}: truncated IDX file: ${bytes.length} bytes, too short for the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2];
  const rank = bytes[3];
  const expectedMagic = expectedRank === undefined ? '0x000008NN (NN = number of dimensions)' : hex32((U8 << 8) | expectedRank);
  if (bytes[0] !== 0 || bytes[1] !== 0 || (expectedRank !== undefined && rank !== expectedRank && type === U8)) {
    throw new DataError(`${name}: wrong magic number ${hex32(magic)}, expected ${expectedMagic}; is this an IDX file of the right kind?`);
  }
  if (type !== U8) {
    const typeName = TYPE_NAMES[type] ?? 'unknown';
    throw new DataError(`${name}: data type 0x${type.toString(16).padStart(2, '0')} (${typeName}) is not supported; only unsigned bytes (0x08, u8) are`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DataError(`${name}: truncated IDX header: ${rank} dimensions need ${headerBytes} header bytes, file has ${bytes.length}`);
  }
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const needed = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  if (have < needed) {
    throw new DataError(`${name}: truncated data: declared dims ${dims.join('×')} need ${needed} bytes, file has ${have}`);
  }
  if (have > needed) {
    throw new DataError(`${name}: ${have - needed} unexpected bytes after the data declared by dims ${dims.join('×')} (${needed} bytes)`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Reads and parses an IDX file; see `parseIdx`. */
export function readIdx(path: string, expectedRank?: number): IdxFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${path}: file not found`);
    throw new DataError(`${path}: cannot read file (${(e as Error).message})`);
  }
  return parseIdx(bytes, path, expectedRank);
}
