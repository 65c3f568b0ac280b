// IDX files on disk (Node only); the format itself is in src/data/idx-format.ts. Gzip is detected by its magic bytes, so
// `x-ubyte` and `x-ubyte.gz` both work. The header is read and checked first; then exactly the bytes it declares
// are read, or decompressed with the output capped at that size, so a gzip bomb or a lying header costs nothing.
import { closeSync } from 'node:fs';
import { gunzipSync, constants } from 'node:zlib';
import { openRegularFile, readExactly } from '../io/regular-file.js';
import { DataError, isGzip, parseIdxHeader, checkIdxLength, idxHeaderBytes, type IdxFile, type IdxHeader } from '../data/idx-format.js';

export { DataError, isGzip, parseIdxHeader, decodeIdx, checkIdxLength, MAX_IDX_DATA_BYTES, type IdxFile, type IdxHeader } from '../data/idx-format.js';

/** Called with the header before any data is read: throw to refuse (e.g. images that are not 28×28). */
export type IdxHeaderCheck = (header: IdxHeader) => void;

/** Deflate expands at most ~1032:1, so a file this small cannot hold the data its header declares. */
const MAX_DEFLATE_RATIO = 1032;
/** Bytes kept for the gzip header, trailer and block overhead when bounding a compressed file's size. */
const GZIP_SLACK = 1 << 20;

function gunzipError(e: unknown, name: string, header?: IdxHeader): DataError {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ERR_BUFFER_TOO_LARGE' && header) {
    return new DataError(`${name}: decompresses to more than the ${header.headerBytes + header.dataBytes} bytes its IDX header declares ` +
      `(dims ${header.dims.join('×')}); the file is corrupt or not an IDX file`);
  }
  return new DataError(`${name}: corrupt or truncated gzip file (zlib: ${String(err?.message ?? e).split('\n')[0].slice(0, 100)})`);
}

/** The IDX header from the start of a gzip stream, decompressing growing prefixes of it and never more. */
function gunzipHeader(compressedPrefix: Uint8Array, name: string, expectedRank?: number): IdxHeader {
  for (let k = 64; ; k *= 2) {
    const part = compressedPrefix.subarray(0, k);
    let out: Uint8Array;
    try {
      out = gunzipSync(part, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_DEFLATE_RATIO * part.length + 4096 });
    } catch (e) {
      throw gunzipError(e, name);
    }
    if (out.length >= idxHeaderBytes(out) || part.length === compressedPrefix.length) return parseIdxHeader(out, name, expectedRank);
  }
}

/** Decompresses `compressed`, stopping with an error as soon as it exceeds the size `header` declares. */
function gunzipBounded(compressed: Uint8Array, header: IdxHeader, name: string): Uint8Array {
  const total = header.headerBytes + header.dataBytes;
  try {
    return gunzipSync(compressed, { maxOutputLength: Math.max(total, 1) });
  } catch (e) {
    throw gunzipError(e, name, header);
  }
}

function checkCompressedSize(size: number, header: IdxHeader, name: string): void {
  const total = header.headerBytes + header.dataBytes;
  if (total > size * MAX_DEFLATE_RATIO + GZIP_SLACK) {
    throw new DataError(`${name}: truncated: its ${size} compressed bytes cannot hold the ${total} bytes its IDX header declares (dims ${header.dims.join('×')})`);
  }
  if (size > total + (total >> 10) + GZIP_SLACK) {
    throw new DataError(`${name}: ${size} compressed bytes, far more than the ${total} bytes its IDX header declares (dims ${header.dims.join('×')}); the file is corrupt`);
  }
}

/**
 * Parses an IDX file's bytes (gzipped or raw). `name` is used in error messages. With `expectedRank`, a file
 * whose dimension count differs is refused as having the wrong magic number (0x00000801 labels, 0x00000803 images).
 * `check` sees the header before the data is decompressed. Throws DataError.
 */
export function parseIdx(bytes: Uint8Array, name: string, expectedRank?: number, check?: IdxHeaderCheck): IdxFile {
  if (!isGzip(bytes)) {
    const header = parseIdxHeader(bytes, name, expectedRank);
    check?.(header);
    checkIdxLength(header, bytes.length, name);
    return { dims: header.dims, data: bytes.subarray(header.headerBytes) };
  }
  const header = gunzipHeader(bytes.subarray(0, 1 << 16), name, expectedRank);
  check?.(header);
  checkCompressedSize(bytes.length, header, name);
  const raw = gunzipBounded(bytes, header, name);
  checkIdxLength(header, raw.length, name);
  return { dims: header.dims, data: raw.subarray(header.headerBytes) };
}

/**
 * Reads and parses an IDX file, refusing anything but a regular file (a FIFO, directory or device) before
 * reading. The header is read first and checked (and passed to `check`); then only the declared data is read
 * or decompressed. Throws DataError whose one-line message starts with `path`.
 */
export function readIdx(path: string, expectedRank?: number, check?: IdxHeaderCheck): IdxFile {
  const fail = (reason: string) => new DataError(`${path}: ${reason === 'no such file' ? 'file not found' : `cannot read: ${reason}`}`);
  const { fd, size } = openRegularFile(path, fail);
  try {
    const prefix = new Uint8Array(Math.min(size, 1 << 16));
    readExactly(fd, prefix, 0, fail);
    if (!isGzip(prefix)) {
      const header = parseIdxHeader(prefix.subarray(0, Math.min(prefix.length, idxHeaderBytes(prefix))), path, expectedRank);
      check?.(header);
      checkIdxLength(header, size, path);
      const data = new Uint8Array(header.dataBytes);
      readExactly(fd, data, header.headerBytes, fail);
      return { dims: header.dims, data };
    }
    const header = gunzipHeader(prefix, path, expectedRank);
    check?.(header);
    checkCompressedSize(size, header, path);
    const compressed = new Uint8Array(size);
    compressed.set(prefix);
    readExactly(fd, compressed.subarray(prefix.length), prefix.length, fail);
    const raw = gunzipBounded(compressed, header, path);
    checkIdxLength(header, raw.length, path);
    return { dims: header.dims, data: raw.subarray(header.headerBytes) };
  } finally {
    closeSync(fd);
  }
}
