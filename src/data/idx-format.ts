// IDX, the MNIST container, as bytes in memory (no node: imports, so a browser can use it): two zero bytes, a
// type code, a dimension count, big-endian u32 dims, then the data. Only unsigned bytes (type 0x08) are
// supported, which is all the (Fashion-)MNIST files use. The header is checked on its own first, so a reader can
// refuse an absurd or unwanted size before it reads or decompresses the data.

/** A problem with a data file or a data selection; the message (one line) names the file or the selection. */
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

export interface IdxHeader {
  dims: number[];
  /** 4 + 4·rank. */
  headerBytes: number;
  /** The product of the dims: the bytes of data that must follow the header. */
  dataBytes: number;
}

/** Files declaring more data than this are refused before anything is read (Fashion-MNIST's largest: 47 MB). */
export const MAX_IDX_DATA_BYTES = 2 ** 30;

const U8 = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: 'u8', 0x09: 'i8', 0x0b: 'i16', 0x0c: 'i32', 0x0d: 'f32', 0x0e: 'f64' };

const hex32 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Bytes a header of this rank needs: 4 for the magic number, 4 per dimension. */
export function idxHeaderBytes(prefix: Uint8Array): number {
  return prefix.length < 4 ? 4 : 4 + 4 * prefix[3];
}

/**
 * The header at the start of `prefix` (raw IDX bytes, at least the whole header). With `expectedRank`, a file of
 * another rank is refused as having the wrong magic number (0x00000801 labels, 0x00000803 images). Throws
 * DataError naming `name` for a wrong magic number, a type other than u8, a truncated header, or dims whose
 * product exceeds MAX_IDX_DATA_BYTES.
 */
export function parseIdxHeader(prefix: Uint8Array, name: string, expectedRank?: number): IdxHeader {
  if (prefix.length < 4) throw new DataError(`${name}: truncated IDX file: ${prefix.length} bytes, too short for the 4-byte magic number`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const magic = view.getUint32(0, false);
  const type = prefix[2];
  const rank = prefix[3];
  const expectedMagic = expectedRank === undefined ? '0x000008NN (NN = number of dimensions)' : hex32((U8 << 8) | expectedRank);
  if (prefix[0] !== 0 || prefix[1] !== 0 || (expectedRank !== undefined && rank !== expectedRank && type === U8)) {
    throw new DataError(`${name}: wrong magic number ${hex32(magic)}, expected ${expectedMagic}; is this an IDX file of the right kind?`);
  }
  if (type !== U8) {
    const typeName = TYPE_NAMES[type] ?? 'unknown';
    throw new DataError(`${name}: data type 0x${type.toString(16).padStart(2, '0')} (${typeName}) is not supported; only unsigned bytes (0x08, u8) are`);
  }
  const headerBytes = 4 + 4 * rank;
  if (prefix.length < headerBytes) {
    throw new DataError(`${name}: truncated IDX header: ${rank} dimensions need ${headerBytes} header bytes, file has ${prefix.length}`);
  }
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const dataBytes = dims.reduce((a, b) => a * b, 1); // exact: a product over 2^53 is far past the limit anyway
  if (dataBytes > MAX_IDX_DATA_BYTES) {
    throw new DataError(`${name}: IDX header declares dims ${dims.join('×')} = ${dataBytes.toExponential(3)} bytes of data, more than the ` +
      `${MAX_IDX_DATA_BYTES / 2 ** 30} GiB limit; the file is corrupt`);
  }
  return { dims, headerBytes, dataBytes };
}

/** Checks the length of the data after a header: exactly the dims' product. */
export function checkIdxLength(header: IdxHeader, totalBytes: number, name: string): void {
  const have = totalBytes - header.headerBytes;
  const dims = header.dims.join('×');
  if (have < header.dataBytes) throw new DataError(`${name}: truncated data: declared dims ${dims} need ${header.dataBytes} bytes, file has ${have}`);
  if (have > header.dataBytes) throw new DataError(`${name}: ${have - header.dataBytes} unexpected bytes after the data declared by dims ${dims} (${header.dataBytes} bytes)`);
}

/** A whole raw (not gzipped) IDX file in memory; see parseIdxHeader. `data` is a view of `bytes`. */
export function decodeIdx(bytes: Uint8Array, name: string, expectedRank?: number): IdxFile {
  if (isGzip(bytes)) throw new DataError(`${name}: gzip-compressed; decompress it before decoding`);
  const header = parseIdxHeader(bytes, name, expectedRank);
  checkIdxLength(header, bytes.length, name);
  return { dims: header.dims, data: bytes.subarray(header.headerBytes) };
}
