// `npm run bench [-- --quick] [--step] [--json FILE]`: kernel and training-step figures on this adapter.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeEngine } from '../src/node/gpu.js';
import { benchMatmul } from './matmul.js';
import { benchConv } from './conv.js';
import { benchDispatch } from './dispatch.js';
import { benchStep, type StepFigures } from './step.js';

function table(rows: Record<string, string | number>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [line(keys), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(keys.map((k) => cell(r[k]))))].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, step: { type: 'boolean' }, json: { type: 'string' } }, strict: true });
  const quick = Boolean(values.quick);
  const engine = await createNodeEngine();
  console.log(`adapter: ${engine.adapterName}`);
  console.log(`date: ${new Date().toISOString()}  node ${process.version}${quick ? '  (quick)' : ''}\n`);

  const results: Record<string, unknown> = { adapter: engine.adapterName, date: new Date().toISOString(), quick };
  if (!values.step) {
    const matmul = await benchMatmul(engine, { quick });
    console.log('matmul (median)');
    console.log(table(matmul.map((r) => ({ shape: r.shape, algorithm: r.algorithm, ms: r.ms, 'GFLOP/s': r.gflops }))) + '\n');
    const conv = await benchConv(engine, { quick });
    console.log('convolutions at batch 128 (median ms)');
    const byLayer = new Map<string, Record<string, string | number>>();
    for (const r of conv) {
      const key = `${r.layer}|${r.pass}`;
      const row = byLayer.get(key) ?? { layer: r.layer, pass: r.pass };
      row[`${r.algorithm} ms`] = r.ms;
      byLayer.set(key, row);
    }
    const convRows = [...byLayer.values()].map((r) => ({ ...r, speedup: typeof r['naive ms'] === 'number' && typeof r['fast ms'] === 'number' ? `${(r['naive ms'] / r['fast ms']).toFixed(1)}×` : '' }));
    console.log(table(convRows) + '\n');
    const dispatch = await benchDispatch(engine, { quick });
    console.log(`dispatch overhead: ${dispatch.usPerDispatch.toFixed(1)} µs per dispatch (${dispatch.dispatches} in one pass)\n`);
    Object.assign(results, { matmul, conv, dispatch });
  }
  const batches = values.step ? [32, 64, 128, 256] : [128];
  const steps: StepFigures[] = [];
  for (const batch of batches) steps.push(await benchStep(engine, batch, quick ? 2 : 5));
  console.log('DCGAN training step (D step + G step, losses read back)');
  console.log(table(steps.map((s) => ({
    batch: s.batch, 'ms/step': s.msPerStep, 'images/s': s.imagesPerSecond,
    dispatches: s.dispatchesPerStep, submits: s.submitsPerStep, readbacks: s.readbacksPerStep, 'peak MB': s.peakBytes / 2 ** 20,
  }))));
  results.step = steps;
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(results, null, 2));
    console.log(`\nwrote ${values.json}`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
