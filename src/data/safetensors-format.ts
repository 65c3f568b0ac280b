// The safetensors format, as bytes in memory (no node: imports, so a browser can use it): u64 little-endian
// header length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {string: string}} that may end in spaces, then the little-endian data. Decoding follows the
// reference implementation (huggingface/safetensors): the tensors must cover the data section exactly, in order,
// with no gap, overlap or trailing byte, so a header length that is off by even one byte is refused. Everything
// is checked before anything is allocated, and anything echoed from the file in an error is cut short.

/** A safetensors file that cannot be written or trusted; the message (one line) names the file and the problem. */
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

/** One tensor as the header describes it; `begin`/`end` are byte offsets into the data section. */
export interface TensorSpan {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** A checked header: the spans sorted by offset, covering the data section exactly. */
export interface SafetensorsHeader {
  spans: TensorSpan[];
  metadata: Record<string, string>;
}

const DTYPES: Record<DType, { bytes: number; make: (buffer: ArrayBuffer) => TypedArray; is: (a: unknown) => boolean }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b), is: (a) => a instanceof Float32Array },
  F64: { bytes: 8, make: (b) => new Float64Array(b), is: (a) => a instanceof Float64Array },
  I32: { bytes: 4, make: (b) => new Int32Array(b), is: (a) => a instanceof Int32Array },
  U8: { bytes: 1, make: (b) => new Uint8Array(b), is: (a) => a instanceof Uint8Array },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b), is: (a) => a instanceof BigInt64Array },
};

/** Headers beyond this are refused as corrupt rather than allocated (the reference's limit too). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** A valid header nests 3 deep (header → entry → shape); deeper than this is refused before JSON.parse recurses. */
export const MAX_HEADER_DEPTH = 16;
/** Values from the file are cut to this many characters when an error message echoes them. */
export const ECHO_LIMIT = 80;
const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `value` as JSON on one line, cut to `max` characters: safe to put in an error message. */
export function echo(value: unknown, max = ECHO_LIMIT): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  text = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > max ? `${text.slice(0, max)}…(${text.length} characters)` : text;
}

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

/**
 * The bytes of a safetensors file holding `tensors` and string `metadata`. The header is padded with spaces
 * so the data starts 8-byte aligned; tensors are laid out widest dtype first, then by name.
 * Throws SafetensorsError for an unknown dtype, a shape that is not non-negative integers, data of the wrong
 * type or length, a tensor named "__metadata__", or a metadata value that is not a string.
 */
export function encodeSafetensors(tensors: Record<string, TensorEntry>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    const { dtype, shape, data } = tensors[name];
    if (name === METADATA_KEY) throw new SafetensorsError(`encodeSafetensors: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (!isDType(dtype)) throw new SafetensorsError(`encodeSafetensors: tensor ${echo(name)} has unknown dtype ${echo(dtype)}; use one of ${Object.keys(DTYPES).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`encodeSafetensors: tensor ${echo(name)} shape ${echo(shape)} is not a list of non-negative integers`);
    }
    if (!DTYPES[dtype].is(data)) throw new SafetensorsError(`encodeSafetensors: tensor ${echo(name)} is ${dtype} but its data is a ${data?.constructor?.name}`);
    if (data.length !== elementCount(shape)) {
      throw new SafetensorsError(`encodeSafetensors: tensor ${echo(name)} shape [${shape.join(', ')}] needs ${elementCount(shape)} elements, data has ${data.length}`);
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError(`encodeSafetensors: metadata ${echo(k)} must be a string, got ${typeof v}`);
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

/**
 * The header length N from the first 8 bytes of a `fileBytes`-byte file. Throws SafetensorsError when the file
 * is shorter than 8 bytes, N is over MAX_HEADER_BYTES, or 8 + N runs past the end of the file.
 */
export function readHeaderLength(prefix: Uint8Array, fileBytes: number, name: string): number {
  if (fileBytes < 8 || prefix.length < 8) throw new SafetensorsError(`${name}: not a safetensors file: ${fileBytes} bytes, shorter than the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getUint32(4, true) * 4294967296 + view.getUint32(0, true);
  if (length > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`${name}: corrupt safetensors file: header length ${length} bytes is absurd (more than the ${MAX_HEADER_BYTES / 1024 / 1024} MB limit)`);
  }
  if (8 + length > fileBytes) {
    throw new SafetensorsError(`${name}: corrupt or truncated safetensors file: header length ${length} bytes runs past the end of the ${fileBytes}-byte file`);
  }
  if (length < 2) throw new SafetensorsError(`${name}: corrupt safetensors file: header length ${length} bytes is too short for a JSON object`);
  return length;
}

/**
 * One pass over the JSON text, before JSON.parse: refuses nesting deeper than MAX_HEADER_DEPTH (JSON.parse
 * recursion would overflow the stack on a few thousand levels) and duplicate keys in any object (JSON.parse
 * would silently keep the last).
 */
function scanJson(text: string, name: string): void {
  const objects: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      const keys = objects[objects.length - 1];
      if (!keys) continue;
      let j = i + 1;
      while (j < text.length && ' \t\n\r'.includes(text[j])) j++;
      if (text[j] !== ':') continue;
      let key: string;
      try {
        key = JSON.parse(text.slice(start, i + 1)) as string;
      } catch {
        return; // a malformed string: JSON.parse reports it
      }
      if (keys.has(key)) throw new SafetensorsError(`${name}: corrupt safetensors file: duplicate key ${echo(key)} in the header`);
      keys.add(key);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      objects.push(c === 0x7b ? new Set() : null);
      if (objects.length > MAX_HEADER_DEPTH) {
        throw new SafetensorsError(`${name}: corrupt safetensors file: header nested more than ${MAX_HEADER_DEPTH} levels deep (a valid one nests 3)`);
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      objects.pop();
    }
  }
}

/** Metadata values holding JSON longer than this are refused (a model spec is a few KiB). */
export const MAX_METADATA_JSON = 64 * 1024;

/**
 * A metadata value's JSON, parsed after the header's checks: at most MAX_METADATA_JSON characters, nested at
 * most MAX_HEADER_DEPTH levels, no duplicate keys. Throws SafetensorsError naming `name` and the key.
 */
export function parseMetadataJson(text: string, name: string, key: string): unknown {
  if (text.length > MAX_METADATA_JSON) throw new SafetensorsError(`${name}: metadata ${echo(key)} is ${text.length} characters, more than the ${MAX_METADATA_JSON} allowed; the file is corrupt`);
  const where = `${name} (metadata ${echo(key)})`;
  scanJson(text, where);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${where}: not valid JSON (${echo((e as Error).message)}); the file is corrupt`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Checks a header's `headerBytes` (the N bytes after the length) against a data section of `dataLength`
 * bytes, without touching the data. Throws SafetensorsError, naming `name` and the first problem found.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, name: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(`${name}: corrupt safetensors file: header is not valid UTF-8`);
  }
  if (text[0] !== '{') throw new SafetensorsError(`${name}: corrupt safetensors file: header does not start with "{" (it starts ${echo(text.slice(0, 16))})`);
  scanJson(text, name);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${name}: corrupt safetensors file: header is not valid JSON (${echo((e as Error).message, 120)}); the header length may be wrong`);
  }
  if (!isObject(header)) throw new SafetensorsError(`${name}: corrupt safetensors file: header is not a JSON object`);

  const metadata: Record<string, string> = {};
  const meta = header[METADATA_KEY];
  if (meta !== undefined && meta !== null) {
    if (!isObject(meta)) throw new SafetensorsError(`${name}: corrupt safetensors file: "${METADATA_KEY}" is not an object of strings (got ${echo(meta)})`);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') throw new SafetensorsError(`${name}: corrupt safetensors file: metadata ${echo(k)} is not a string (got ${echo(v)})`);
      metadata[k] = v;
    }
  }

  const spans: TensorSpan[] = [];
  for (const [tensor, entry] of Object.entries(header)) {
    if (tensor === METADATA_KEY) continue;
    const what = `${name}: tensor ${echo(tensor)}`;
    if (!isObject(entry)) throw new SafetensorsError(`${what}: header entry is not an object (got ${echo(entry)})`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (!isDType(dtype)) throw new SafetensorsError(`${what}: unknown or unsupported dtype ${echo(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new SafetensorsError(`${what}: shape ${echo(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw new SafetensorsError(`${what}: data_offsets ${echo(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      throw new SafetensorsError(`${what}: data_offsets [${begin}, ${end}] out of range (the data section has ${dataLength} bytes)`);
    }
    // Multiply with a bound so that a shape like [2^40, 2^40] never overflows into a plausible size.
    let needed = DTYPES[dtype].bytes;
    for (const d of shape as number[]) needed = d === 0 || needed === 0 ? 0 : needed > dataLength / d ? Infinity : needed * d;
    if (end - begin !== needed) {
      const size = Number.isFinite(needed) ? `${needed} bytes` : `more than the ${dataLength} bytes of the data section`;
      throw new SafetensorsError(`${what}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} shape ${echo(shape)} needs ${size}`);
    }
    spans.push({ name: tensor, dtype, shape: shape as number[], begin, end });
  }

  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorSpan | undefined;
  for (const span of spans) {
    if (span.begin < covered) {
      throw new SafetensorsError(`${name}: corrupt safetensors file: tensor ${echo(span.name)} [${span.begin}, ${span.end}] overlaps tensor ${echo(previous!.name)} [${previous!.begin}, ${previous!.end}]`);
    }
    if (span.begin > covered) {
      throw new SafetensorsError(`${name}: corrupt safetensors file: ${span.begin - covered} bytes before tensor ${echo(span.name)} [${span.begin}, ${span.end}] belong to no tensor`);
    }
    covered = span.end;
    previous = span;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(`${name}: corrupt safetensors file: the tensors cover ${covered} bytes but the data section has ${dataLength}; ` +
      'the header length or the offsets are wrong');
  }
  return { spans, metadata };
}

/** The tensors of a checked header, copied out of its `data` section (so their buffers are aligned and owned). */
export function tensorsFromData(header: SafetensorsHeader, data: Uint8Array): Record<string, TensorEntry> {
  const tensors: Record<string, TensorEntry> = {};
  for (const { name, dtype, shape, begin, end } of header.spans) {
    const buffer = new ArrayBuffer(end - begin);
    const copy = new Uint8Array(buffer);
    copy.set(data.subarray(begin, end));
    if (!LITTLE_ENDIAN_HOST) swapBytes(copy, DTYPES[dtype].bytes);
    tensors[name] = { dtype, shape, data: DTYPES[dtype].make(buffer) } as TensorEntry;
  }
  return tensors;
}

/**
 * The tensors and metadata of a whole safetensors file in memory. `name` (a path) starts every error message.
 * Throws SafetensorsError for anything the format does not allow; see parseSafetensorsHeader.
 */
export function decodeSafetensors(bytes: Uint8Array, name = 'safetensors'): SafetensorsContents {
  const headerLength = readHeaderLength(bytes, bytes.length, name);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length - 8 - headerLength, name);
  return { tensors: tensorsFromData(header, bytes.subarray(8 + headerLength)), metadata: header.metadata };
}
