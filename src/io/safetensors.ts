// The safetensors format: u64 little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}} padded with spaces so the
// data starts 8-byte aligned, then the little-endian data. Reading validates everything before trusting it, so a
// corrupt or hostile file gives an Error naming the problem, never a huge allocation or a hang.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

/** A safetensors file that cannot be written or trusted; the message names the file and the problem. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export type DType = 'F32' | 'F64' | 'I32' | 'U8' | 'I64';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;

/** One tensor; the dtype tag narrows `data` (check `dtype === 'F32'` and `data` is a Float32Array). */
export type TensorEntry =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'F64'; shape: number[]; data: Float64Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'U8'; shape: number[]; data: Uint8Array }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array };

export interface SafetensorsContents {
  tensors: Record<string, TensorEntry>;
  metadata: Record<string, string>;
}

const DTYPES: Record<DType, { bytes: number; make: (buffer: ArrayBuffer) => TypedArray; is: (a: unknown) => boolean }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b), is: (a) => a instanceof Float32Array },
  F64: { bytes: 8, make: (b) => new Float64Array(b), is: (a) => a instanceof Float64Array },
  I32: { bytes: 4, make: (b) => new Int32Array(b), is: (a) => a instanceof Int32Array },
  U8: { bytes: 1, make: (b) => new Uint8Array(b), is: (a) => a instanceof Uint8Array },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b), is: (a) => a instanceof BigInt64Array },
};

/** Headers beyond this are refused as corrupt rather than allocated. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDType(v: unknown): v is DType {
  return typeof v === 'string' && Object.hasOwn(DTYPES, v);
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reverses each element's bytes in place (only needed on big-endian hosts). */
function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

export function encodeSafetensors(tensors: Record<string, TensorEntry>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    const { dtype, shape, data } = tensors[name];
    if (name === METADATA_KEY) throw new SafetensorsError(`encodeSafetensors: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (!isDType(dtype)) throw new SafetensorsError(`encodeSafetensors: tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}; use one of ${Object.keys(DTYPES).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`encodeSafetensors: tensor "${name}" shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!DTYPES[dtype].is(data)) throw new SafetensorsError(`encodeSafetensors: tensor "${name}" is ${dtype} but its data is a ${data?.constructor?.name}`);
    if (data.length !== elementCount(shape)) {
      throw new SafetensorsError(`encodeSafetensors: tensor "${name}" shape [${shape.join(', ')}] needs ${elementCount(shape)} elements, data has ${data.length}`);
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError(`encodeSafetensors: metadata "${k}" must be a string, got ${typeof v}`);
  }
  // Widest dtypes first keeps every tensor naturally aligned within the 8-byte-aligned data section.
  const order = [...names].sort((a, b) => DTYPES[tensors[b].dtype].bytes - DTYPES[tensors[a].dtype].bytes || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const name of order) {
    const { dtype, shape, data } = tensors[name];
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const name of order) {
    const { dtype, data } = tensors[name];
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(bytes, at);
    if (!LITTLE_ENDIAN_HOST) swapBytes(out.subarray(at, at + bytes.length), DTYPES[dtype].bytes);
    at += bytes.length;
  }
  return out;
}

/** Reads the u64 header length; refuses lengths the file cannot hold or that are absurdly large. */
function checkHeaderLength(prefix: Uint8Array, fileBytes: number, name: string): number {
  if (fileBytes < 8) throw new SafetensorsError(`${name}: not a safetensors file: ${fileBytes} bytes, shorter than the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const length = high * 4294967296 + low;
  if (length > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`${name}: corrupt safetensors file: header length ${length} bytes is absurd (more than the ${MAX_HEADER_BYTES / 1024 / 1024} MB limit)`);
  }
  if (8 + length > fileBytes) {
    throw new SafetensorsError(`${name}: corrupt or truncated safetensors file: header length ${length} bytes runs past the end of the ${fileBytes}-byte file`);
  }
  return length;
}

/** JSON.parse keeps the last of duplicate keys silently, so the top-level keys are listed by scanning the text. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (/\s/.test(json[j] ?? '')) j++;
      if (json[j] === ':') keys.push(JSON.parse(json.slice(start, i + 1)) as string);
    }
  }
  return keys;
}

export function decodeSafetensors(bytes: Uint8Array, name = 'safetensors'): SafetensorsContents {
  const headerLength = checkHeaderLength(bytes, bytes.length, name);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new SafetensorsError(`${name}: corrupt safetensors file: header is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${name}: corrupt safetensors file: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(`${name}: corrupt safetensors file: header is not a JSON object`);
  }
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) throw new SafetensorsError(`${name}: corrupt safetensors file: duplicate entry "${key}" in header`);
    seen.add(key);
  }

  const entries = header as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  if (Object.hasOwn(entries, METADATA_KEY)) {
    const meta = entries[METADATA_KEY];
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new SafetensorsError(`${name}: corrupt safetensors file: "${METADATA_KEY}" is not an object`);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') throw new SafetensorsError(`${name}: corrupt safetensors file: metadata "${k}" is not a string`);
      metadata[k] = v;
    }
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const parsed: { tensor: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [tensor, entry] of Object.entries(entries)) {
    if (tensor === METADATA_KEY) continue;
    const what = `${name}: tensor "${tensor}"`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new SafetensorsError(`${what}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDType(dtype)) throw new SafetensorsError(`${what}: unknown or unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${what}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${what}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      throw new SafetensorsError(`${what}: data_offsets [${begin}, ${end}] out of range (the data section has ${dataLength} bytes)`);
    }
    const expected = elementCount(shape) * DTYPES[dtype].bytes;
    if (end - begin !== expected) {
      throw new SafetensorsError(`${what}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} shape [${shape.join(', ')}] needs ${expected}`);
    }
    parsed.push({ tensor, dtype, shape: shape as number[], begin, end });
  }
  const spans = [...parsed].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1];
    const cur = spans[i];
    if (cur.begin < prev.end) {
      throw new SafetensorsError(`${name}: corrupt safetensors file: tensor "${cur.tensor}" [${cur.begin}, ${cur.end}] overlaps tensor "${prev.tensor}" [${prev.begin}, ${prev.end}]`);
    }
  }

  const tensors: Record<string, TensorEntry> = {};
  for (const { tensor, dtype, shape, begin, end } of parsed) {
    // Copy into a fresh buffer: the source offset need not be aligned for the typed array.
    const buffer = new ArrayBuffer(end - begin);
    const copy = new Uint8Array(buffer);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    if (!LITTLE_ENDIAN_HOST) swapBytes(copy, DTYPES[dtype].bytes);
    tensors[tensor] = { dtype, shape, data: DTYPES[dtype].make(buffer) } as TensorEntry;
  }
  return { tensors, metadata };
}

export function writeSafetensors(path: string, tensors: Record<string, TensorEntry>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Checks the file size against the header length before reading the rest, so a bad length costs nothing. */
export function readSafetensors(path: string): SafetensorsContents {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot open (${(e as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    if (size >= 8) readSync(fd, prefix, 0, 8, 0);
    checkHeaderLength(prefix, size, path);
    const bytes = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) throw new SafetensorsError(`${path}: file shrank while being read (${got} of ${size} bytes)`);
      got += n;
    }
    return decodeSafetensors(bytes, path);
  } finally {
    closeSync(fd);
  }
}
