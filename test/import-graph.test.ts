// The layering of src/, checked from its import statements: no value-import cycles, no import from a lower
// folder to a higher one, no CLI entry importing another, and a core with no Node modules (it runs in a browser).
// Type-only imports (`import type`, or every specifier marked `type`) are erased by TypeScript, so they may
// point anywhere.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Folders of src/, lowest first: a file may import from its own folder and the ones before it. */
export const LAYERS = ['runtime', 'kernels', 'tensor', 'nn', 'data', 'gan', 'index', 'io', 'node', 'cli'];
/** Folders that must run unchanged in a browser. */
const CORE = ['runtime', 'kernels', 'tensor', 'nn', 'data', 'gan', 'index'];

export interface Import {
  /** The module specifier as written. */
  specifier: string;
  /** Erased at compile time: `import type`, `export type`, or only `type` specifiers. */
  typeOnly: boolean;
  line: number;
}

/** The import and re-export statements of a TypeScript source (static ones; `import('…')` types are ignored). */
export function parseImports(source: string): Import[] {
  const found: Import[] = [];
  const statement = /^[ \t]*(import|export)\s+(type\s+)?([^'";]*?)\s*(?:from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(statement)) {
    const [, keyword, typeKeyword, clause, specifier] = m;
    // `export const x = …` and the like have no `from` and no quoted specifier right after the clause
    if (keyword === 'export' && !/^(\*|\{[^}]*\}|\*\s+as\s+\w+)$/s.test(clause.trim())) continue;
    const braces = clause.match(/^\{([^}]*)\}$/s);
    const onlyTypes = braces !== null && braces[1].split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '));
    found.push({ specifier, typeOnly: Boolean(typeKeyword) || onlyTypes, line: source.slice(0, m.index).split('\n').length });
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** A file's layer: its folder under src/, or `index` for src/index.ts. */
function layerOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? parts[0].replace(/\.ts$/, '') : parts[0];
}

const name = (file: string) => relative(SRC, file).split(sep).join('/');

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
  line: number;
}

function buildGraph(): { files: string[]; edges: Edge[]; nodeImports: { file: string; specifier: string }[] } {
  const files = sourceFiles(SRC);
  const edges: Edge[] = [];
  const nodeImports: { file: string; specifier: string }[] = [];
  for (const file of files) {
    for (const imp of parseImports(readFileSync(file, 'utf8'))) {
      if (imp.specifier.startsWith('node:') && !imp.typeOnly) nodeImports.push({ file, specifier: imp.specifier });
      if (!imp.specifier.startsWith('.')) continue;
      const to = resolve(dirname(file), imp.specifier.replace(/\.js$/, '.ts'));
      edges.push({ from: file, to, typeOnly: imp.typeOnly, line: imp.line });
    }
  }
  return { files, edges, nodeImports };
}

/** One cycle through the value edges, as a list of files (first repeated at the end), or null. */
export function findCycle(edges: { from: string; to: string }[]): string[] | null {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 'open');
    path.push(node);
    for (const to of next.get(node) ?? []) {
      if (state.get(to) === 'open') return [...path.slice(path.indexOf(to)), to];
      if (!state.has(to)) {
        const cycle = visit(to);
        if (cycle) return cycle;
      }
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of next.keys()) {
    if (!state.has(node)) {
      const cycle = visit(node);
      if (cycle) return cycle;
    }
  }
  return null;
}

describe('import graph of src/', () => {
  const { files, edges, nodeImports } = buildGraph();
  const valueEdges = edges.filter((e) => !e.typeOnly);

  it('parses imports, re-exports and type-only imports', () => {
    const source = [
      "import { a, b } from './a.js';",
      "import type { T } from './t.js';",
      "import { type U, type V } from './u.js';",
      "import { type W, w } from './w.js';",
      "export { x } from './x.js';",
      "export * from './star.js';",
      "export type { Y } from './y.js';",
      "import * as ns from 'node:fs';",
      "import './side-effect.js';",
      "export const z = 'not an import';",
      "const s = \"import { q } from './q.js'\";",
    ].join('\n');
    expect(parseImports(source).map((i) => [i.specifier, i.typeOnly])).toEqual([
      ['./a.js', false], ['./t.js', true], ['./u.js', true], ['./w.js', false],
      ['./x.js', false], ['./star.js', false], ['./y.js', true], ['node:fs', false], ['./side-effect.js', false],
    ]);
    expect(findCycle([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }])).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle([{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'b', to: 'c' }])).toBeNull();
  });

  it('every relative import names a file of src/', () => {
    const known = new Set(files);
    const missing = edges.filter((e) => !known.has(e.to)).map((e) => `${name(e.from)}:${e.line} → ${relative(SRC, e.to)}`);
    expect(missing).toEqual([]);
    expect(files.length).toBeGreaterThan(50);
  });

  it('has no cycle among value imports', () => {
    const cycle = findCycle(valueEdges);
    expect(cycle?.map(name).join(' → ') ?? null).toBeNull();
  });

  it(`imports never go from a lower folder to a higher one (${LAYERS.join(' < ')})`, () => {
    for (const file of files) expect(LAYERS, `layer of ${name(file)}`).toContain(layerOf(file));
    const upward = valueEdges
      .filter((e) => LAYERS.indexOf(layerOf(e.to)) > LAYERS.indexOf(layerOf(e.from)))
      .map((e) => `${name(e.from)}:${e.line} imports ${name(e.to)}`);
    expect(upward).toEqual([]);
  });

  it('no file in src/cli imports another file in src/cli', () => {
    const within = valueEdges
      .filter((e) => layerOf(e.from) === 'cli' && layerOf(e.to) === 'cli')
      .map((e) => `${name(e.from)}:${e.line} imports ${name(e.to)}`);
    expect(within).toEqual([]);
  });

  it('nothing reachable from src/index.ts (the browser entry, `atelier`) imports a node: module', () => {
    const reachable = new Set<string>([join(SRC, 'index.ts')]);
    for (let grew = true; grew;) {
      grew = false;
      for (const e of valueEdges) {
        if (reachable.has(e.from) && !reachable.has(e.to)) {
          reachable.add(e.to);
          grew = true;
        }
      }
    }
    expect(reachable.size).toBeGreaterThan(40);
    const found = nodeImports.filter((i) => reachable.has(i.file)).map((i) => `${name(i.file)} imports ${i.specifier}`);
    expect(found).toEqual([]);
  });

  it('only the dispatcher src/cli/atelier.ts loads a CLI entry dynamically', () => {
    const dynamic = files
      .filter((f) => layerOf(f) === 'cli' && name(f) !== 'cli/atelier.ts')
      .filter((f) => /\bimport\s*\(/.test(readFileSync(f, 'utf8')))
      .map(name);
    expect(dynamic).toEqual([]);
    expect(readFileSync(join(SRC, 'cli', 'atelier.ts'), 'utf8')).toMatch(/await import\(entry\.href\)/);
  });

  it(`the core (${CORE.join(', ')}) imports no node: module`, () => {
    const found = nodeImports.filter((i) => CORE.includes(layerOf(i.file))).map((i) => `${name(i.file)} imports ${i.specifier}`);
    expect(found).toEqual([]);
  });
});
