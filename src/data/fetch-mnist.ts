// (Fashion-)MNIST over HTTP, for a page: each IDX file fetched (the .gz first, then the raw file), gunzipped with
// the platform's DecompressionStream, parsed with decodeIdx and the examples chosen by selectExamples, so a tab
// trains on exactly the images `npm run train` reads from disk for the same classes and limit. Browser-safe
// (fetch and DecompressionStream are globals in browsers and in Node 18+).
import { DataError, decodeIdx, isGzip, type IdxFile } from './idx-format.js';
import { FASHION_MNIST, resolveClasses, checkLimit, imagesHeaderCheck, selectExamples, type Dataset, type MnistLikeSpec, type Split } from './fashion-mnist.js';

export interface FetchMnistOptions {
  split: Split;
  /** Class names or indices; all classes when absent. */
  classes?: (string | number)[];
  /** Keep the first `limit` images after class filtering. */
  limit?: number;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
}

/** Gunzips `bytes` with DecompressionStream('gzip'). Throws DataError naming `name` for a corrupt stream. */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') throw new DataError(`${name}: this platform has no DecompressionStream; serve the raw (not gzipped) IDX file`);
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataError(`${name}: not a valid gzip stream (${(e as Error).message}); download the file again`);
  }
}

/**
 * One IDX file from `base` (a folder URL ending in '/', relative to the page in a browser): `<file>.gz` first, then `<file>`; gzip is recognised by
 * its magic bytes, whatever the name. Throws DataError naming the URL for HTTP errors and for anything decodeIdx
 * refuses.
 */
export async function fetchIdx(base: string | URL, file: string, expectedRank: number, fetchFn: typeof fetch = fetch): Promise<IdxFile> {
  // A relative base ('/data/') resolves against the page, as fetch would resolve it.
  const page = (globalThis as { location?: { href: string } }).location?.href;
  const folder = new URL(String(base), page);
  let response: Response | undefined;
  let url = '';
  for (const candidate of [`${file}.gz`, file]) {
    url = new URL(candidate, folder).href;
    response = await fetchFn(url);
    if (response.status !== 404) break;
  }
  if (!response || !response.ok) throw new DataError(`${url}: HTTP ${response?.status ?? '?'} ${response?.statusText ?? ''}; serve ${file}[.gz] from ${String(base)}`.trim());
  let bytes: Uint8Array = new Uint8Array(await response.arrayBuffer());
  if (isGzip(bytes)) bytes = await gunzip(bytes, url);
  return decodeIdx(bytes, url, expectedRank);
}

/**
 * The examples of a dataset laid out like MNIST, fetched from `base` (a folder URL): N×1×H×W floats in [−1, 1],
 * the same selection loadMnistLike makes from a folder on disk. Throws DataError (see fetchIdx, selectExamples).
 */
export async function fetchMnistLike(spec: MnistLikeSpec, base: string | URL, { split, classes, limit, fetch: fetchFn = fetch }: FetchMnistOptions): Promise<Dataset> {
  if (split !== 'train' && split !== 'test') throw new DataError(`${spec.name}: unknown split ${JSON.stringify(split)}; use 'train' or 'test'`);
  const selected = resolveClasses(spec, classes);
  checkLimit(spec, limit);
  const prefix = split === 'train' ? 'train' : 't10k';
  const labelsName = `${prefix}-labels-idx1-ubyte`;
  const imagesName = `${prefix}-images-idx3-ubyte`;
  const labels = await fetchIdx(base, labelsName, 1, fetchFn);
  const images = await fetchIdx(base, imagesName, 3, fetchFn);
  const check = imagesHeaderCheck(spec, undefined, labels.dims[0], imagesName, labelsName);
  check({ dims: images.dims, headerBytes: 0, dataBytes: images.data.length });
  return selectExamples(spec, images, labels, selected, limit, split, labelsName);
}

/** Fashion-MNIST from a folder URL; see fetchMnistLike. */
export function fetchFashionMnist(base: string | URL, options: FetchMnistOptions): Promise<Dataset> {
  return fetchMnistLike(FASHION_MNIST, base, options);
}
