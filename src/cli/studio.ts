// `npm run studio`: serves the studio page (studio/, compiled to dist/studio/) on 127.0.0.1, with what it loads:
// the compiled browser-safe core (dist/src/**/*.js, ES modules, no bundler), the shipped generators (models/),
// the Fashion-MNIST IDX files (--data) and the run folders of `npm run train` (--runs), read-only. Every path is
// checked against its folder after symlinks are resolved; anything outside (../, a symlink out) is refused.
import { packageRoot } from '../node/package-files.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEFAULT_DATA_DIR } from '../data/fashion-mnist.js';
import { parse, num, str, runCli, HelpRequest, UsageError } from '../node/args.js';

const USAGE = `usage: npm run studio -- [--port P] [--runs DIR] [--data DIR]   (installed: atelier studio [flags])
  --port P     port on 127.0.0.1 (default 8080; 0 picks a free one)
  --runs DIR   folder of training runs to watch (default runs)
  --data DIR   folder with the Fashion-MNIST IDX files for training in the tab (default ${DEFAULT_DATA_DIR})`;

export interface StudioOptions {
  port: number;
  runs: string;
  data: string;
  /** The repository or package root holding studio/, dist/ and models/ (default: found from this file). */
  root?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.jsonl': 'text/plain; charset=utf-8', '.png': 'image/png', '.map': 'application/json',
  '.safetensors': 'application/octet-stream', '.gz': 'application/gzip', '': 'application/octet-stream',
};

const IDX_FILES = ['train', 't10k'].flatMap((p) => [`${p}-images-idx3-ubyte`, `${p}-labels-idx1-ubyte`]).flatMap((f) => [f, `${f}.gz`]);

export const defaultRoot = packageRoot;

/**
 * `relative` (URL path segments, already split and decoded) inside `folder`, or null when it would leave it: a
 * '.', '..' or empty segment, one holding a slash, backslash or NUL (an encoded %2f), or a symlink whose target
 * lies outside. The file need not exist.
 */
export function insideFolder(folder: string, relative: string[]): string | null {
  if (relative.some((s) => s === '..' || s === '.' || s === '' || /[\/\\\0]/.test(s))) return null;
  if (!existsSync(folder)) return null;
  const base = realpathSync(folder);
  const path = join(base, ...relative);
  if (!existsSync(path)) return path;
  const real = realpathSync(path);
  return real === base || real.startsWith(base + sep) ? real : null;
}

/** Whether a safetensors file holds a generator (a tensor named generator.* or generator_ema.*), from its header alone. */
function holdsGenerator(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = Buffer.alloc(8);
    if (readSync(fd, size, 0, 8, 0) !== 8) return false;
    const length = Number(size.readBigUInt64LE());
    if (length > 1e8) return false;
    const header = Buffer.alloc(length);
    readSync(fd, header, 0, length, 8);
    const names = Object.keys(JSON.parse(header.toString('utf8')) as object);
    return names.some((n) => n.startsWith('generator.') || n.startsWith('generator_ema.'));
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

function listModels(root: string): { name: string; bytes: number }[] {
  const dir = join(root, 'models');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.safetensors')).sort()
    .filter((n) => holdsGenerator(join(dir, n)))
    .map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
}

/** The run folders under `runs` (those holding metrics.jsonl or samples/), newest first. */
function listRuns(runs: string): { name: string; modified: number }[] {
  if (!existsSync(runs) || !statSync(runs).isDirectory()) return [];
  return readdirSync(runs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && (existsSync(join(runs, e.name, 'metrics.jsonl')) || existsSync(join(runs, e.name, 'samples'))))
    .map((e) => ({ name: e.name, modified: statSync(join(runs, e.name)).mtimeMs }))
    .sort((a, b) => b.modified - a.modified);
}

/** What the run view needs of one run: whether metrics.jsonl exists, and its sample grids' names, in order. */
function describeRun(folder: string): { metrics: boolean; samples: string[] } {
  const samples = join(folder, 'samples');
  return {
    metrics: existsSync(join(folder, 'metrics.jsonl')),
    samples: existsSync(samples) ? readdirSync(samples).filter((n) => /^(epoch|step)_\d+\.png$/.test(n)).sort() : [],
  };
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(body);
}

function sendFile(res: ServerResponse, path: string | null, method: string): void {
  if (path === null) return send(res, 403, 'refused: the path leaves its folder\n');
  if (!existsSync(path) || !statSync(path).isFile()) return send(res, 404, 'not found\n');
  const body = readFileSync(path);
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? TYPES[''], 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(method === 'HEAD' ? undefined : body);
}

/** The request handler: routes below; everything is read-only (GET and HEAD). */
export function studioHandler({ runs, data, root = defaultRoot() }: StudioOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'the studio server is read-only\n');
    let segments: string[];
    try {
      segments = new URL(req.url ?? '/', 'http://studio').pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      return send(res, 400, 'bad URL\n');
    }
    const [head, ...rest] = segments;
    const json = (value: unknown) => send(res, 200, JSON.stringify(value), 'application/json');
    switch (head) {
      case '':
        res.writeHead(302, { location: '/studio/' }).end();
        return;
      case 'studio':
        if (rest[0] === 'js') return sendFile(res, insideFolder(join(root, 'dist', 'studio'), rest.slice(1)), method);
        return sendFile(res, insideFolder(join(root, 'studio'), rest.length === 1 && rest[0] === '' ? ['index.html'] : rest), method);
      case 'dist':
        if (rest[0] !== 'src' || !/\.js(\.map)?$/.test(rest[rest.length - 1] ?? '')) return send(res, 404, 'not found\n');
        return sendFile(res, insideFolder(join(root, 'dist', 'src'), rest.slice(1)), method);
      case 'models':
        if (rest.length !== 1 || !rest[0].endsWith('.safetensors')) return send(res, 404, 'not found\n');
        return sendFile(res, insideFolder(join(root, 'models'), rest), method);
      case 'data':
        if (rest.length !== 1 || !IDX_FILES.includes(rest[0])) return send(res, 404, 'not found\n');
        return sendFile(res, insideFolder(data, rest), method);
      case 'runs':
        return sendFile(res, insideFolder(runs, rest), method);
      case 'api':
        if (rest[0] === 'info' && rest.length === 1) return json({ data: resolve(data), runs: resolve(runs), dataFiles: IDX_FILES.filter((f) => existsSync(join(data, f))) });
        if (rest[0] === 'models' && rest.length === 1) return json(listModels(root));
        if (rest[0] === 'runs' && rest.length === 1) return json({ folder: runs, runs: listRuns(runs) });
        if (rest[0] === 'runs' && rest.length === 2) {
          const folder = insideFolder(runs, [rest[1]]);
          if (folder === null) return send(res, 403, 'refused: the path leaves its folder\n');
          if (!existsSync(folder) || !statSync(folder).isDirectory()) return send(res, 404, 'no such run\n');
          return json(describeRun(folder));
        }
        return send(res, 404, 'not found\n');
      default:
        return send(res, 404, 'not found\n');
    }
  };
}

/** Starts the server on 127.0.0.1:`port`; resolves with it and its URL. Throws UsageError when the port is taken. */
export async function startStudio(options: StudioOptions): Promise<{ server: Server; url: string }> {
  const root = options.root ?? defaultRoot();
  if (!existsSync(join(root, 'dist', 'studio', 'main.js'))) {
    throw new UsageError(`the studio page is not built (${join(root, 'dist', 'studio', 'main.js')} is missing); run it with npm run studio, which builds it`);
  }
  const server = createServer(studioHandler({ ...options, root }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
      ? new UsageError(`--port ${options.port}: 127.0.0.1:${options.port} is already in use; choose another --port (0 picks a free one)`)
      : e));
    server.listen(options.port, '127.0.0.1', resolve);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

export function parseStudioOptions(argv: string[]): StudioOptions {
  const v = parse(argv, { port: { type: 'string' }, runs: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (v.help) throw new HelpRequest(USAGE);
  return { port: num(v, 'port', 8080, { int: true, min: 0, max: 65535 }), runs: str(v, 'runs') ?? 'runs', data: str(v, 'data') ?? DEFAULT_DATA_DIR };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const options = parseStudioOptions(process.argv.slice(2));
    const { url } = await startStudio(options);
    const runsNote = existsSync(options.runs) ? '' : ' (not there yet; runs appear once it exists)';
    console.log(`atelier studio: ${url}  (runs from ${options.runs}${runsNote}; data from ${options.data}; Ctrl-C stops it)`);
    await new Promise(() => undefined);
    return 0;
  });
}
