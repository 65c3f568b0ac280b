#!/usr/bin/env node
// node scripts/compare-checkpoints.mjs A.safetensors B.safetensors [--ignore KEY]…
// Are two training checkpoints the same run? Every tensor byte for byte, and the metadata but for the wall-clock
// fields (saved_at, adapter, epoch_totals.seconds) and any metadata or config key named by --ignore (for example
// keys a newer build adds: --ignore model --ignore labelNoise). Prints IDENTICAL or the differences; exit 0 or 1.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const ignore = new Set(args.flatMap((a, i) => (args[i - 1] === '--ignore' ? [a] : [])));
const files = args.filter((a, i) => a !== '--ignore' && args[i - 1] !== '--ignore');
if (files.length !== 2) {
  console.error('usage: node scripts/compare-checkpoints.mjs A.safetensors B.safetensors [--ignore KEY]…');
  process.exit(2);
}

function load(path) {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const metadata = header.__metadata__ ?? {};
  delete header.__metadata__;
  for (const key of ['saved_at', 'adapter', ...ignore]) delete metadata[key];
  const parsed = Object.fromEntries(Object.entries(metadata).map(([k, v]) => {
    try { return [k, JSON.parse(v)]; } catch { return [k, v]; }
  }));
  if (parsed.epoch_totals) delete parsed.epoch_totals.seconds;
  if (parsed.config) for (const key of ignore) delete parsed.config[key];
  return { header, data: bytes.subarray(8 + n), metadata: parsed };
}

const canonical = (v) => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));
const [a, b] = files.map(load);
const differences = [];
for (const name of new Set([...Object.keys(a.header), ...Object.keys(b.header)])) {
  const [ta, tb] = [a.header[name], b.header[name]];
  if (!ta || !tb) differences.push(`tensor ${name}: only in ${ta ? files[0] : files[1]}`);
  else if (canonical({ ...ta, data_offsets: 0 }) !== canonical({ ...tb, data_offsets: 0 })) differences.push(`tensor ${name}: dtype or shape differs`);
  else if (!a.data.subarray(...ta.data_offsets).equals(b.data.subarray(...tb.data_offsets))) differences.push(`tensor ${name}: values differ`);
}
for (const key of new Set([...Object.keys(a.metadata), ...Object.keys(b.metadata)])) {
  if (canonical(a.metadata[key]) !== canonical(b.metadata[key])) differences.push(`metadata ${key}: ${canonical(a.metadata[key])?.slice(0, 200)} ≠ ${canonical(b.metadata[key])?.slice(0, 200)}`);
}
console.log(differences.length ? `DIFFERENT\n${differences.join('\n')}` : 'IDENTICAL');
process.exit(differences.length ? 1 : 0);
