// Safetensors files on disk (Node only). The format itself, in memory, is in src/data/safetensors-format.ts, which a
// browser can use; this adds reading a file with every length checked before it is read, and atomic writing.
import { closeSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { openRegularFile, readExactly } from './regular-file.js';
import { SafetensorsError, encodeSafetensors, readHeaderLength, parseSafetensorsHeader, tensorsFromData, type SafetensorsContents, type TensorEntry } from '../data/safetensors-format.js';

export {
  SafetensorsError, encodeSafetensors, decodeSafetensors, parseMetadataJson, MAX_METADATA_JSON, parseSafetensorsHeader, readHeaderLength, tensorsFromData, echo,
  MAX_HEADER_BYTES, MAX_HEADER_DEPTH, ECHO_LIMIT,
  type DType, type TypedArray, type TensorEntry, type SafetensorsContents, type SafetensorsHeader, type TensorSpan,
} from '../data/safetensors-format.js';

export function writeSafetensors(path: string, tensors: Record<string, TensorEntry>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Reads a safetensors file: refuses anything but a regular file (directory, FIFO, device), then reads the
 * 8-byte length, then the header, checks the header against the file's size, and only then reads the data.
 * Throws SafetensorsError whose one-line message starts with `path`.
 */
export function readSafetensors(path: string): SafetensorsContents {
  const fail = (reason: string) => new SafetensorsError(`${path}: ${reason}; give a safetensors checkpoint file`);
  const { fd, size } = openRegularFile(path, fail);
  try {
    const prefix = new Uint8Array(Math.min(8, size));
    readExactly(fd, prefix, 0, fail);
    const headerLength = readHeaderLength(prefix, size, path);
    const headerBytes = new Uint8Array(headerLength);
    readExactly(fd, headerBytes, 8, fail);
    const header = parseSafetensorsHeader(headerBytes, size - 8 - headerLength, path);
    const data = new Uint8Array(size - 8 - headerLength);
    readExactly(fd, data, 8 + headerLength, fail);
    return { tensors: tensorsFromData(header, data), metadata: header.metadata };
  } finally {
    closeSync(fd);
  }
}
