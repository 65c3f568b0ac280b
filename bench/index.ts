// `npm run bench [-- options]`: kernel and training-step figures on this adapter.
//   (no section flag)      matmul, convolutions, dispatch overhead, the training step at batch 128
//   --step                 the training step against the same model on TensorFlow.js (webgpu and wasm
//                          backends), its FLOP rate, and atelier's cost at batch 32–256
//   --growth [N]           N training steps (default 1,000) at --growth-batch (default 16): does the pool grow?
//   --profile              the training step at batch 128, kernel by kernel (each dispatch submitted alone)
//   --conditional          --profile the class-conditional DCGAN (train --conditional) instead
//   --recipe NAME[,NAME…]  the training step of each named recipe (npm run train -- --recipe list) at its own
//                          batch size: ms/step and s/epoch, averaged over whole cycles of --d-reg-every
//   --train-flags "F…"     npm run train flags over each --recipe, e.g. --train-flags="--d-reg-every 1"
//   --quick                fewer repetitions
//   --no-tfjs              --step without the TensorFlow.js peers; --peers webgpu,wasm picks them
//   --peers pytorch        --step against PyTorch on the CPU (bench/pytorch/step.py run by python3, or by
//                          $ATELIER_PYTHON; skipped with a message when torch is missing: apt-get install python3-torch)
//   --pytorch-blas LIST    system (Debian's libblas.so.3 alternative, the default), reference, openblas,
//                          openblas-pthread: one PyTorch row each, the library's directory first on LD_LIBRARY_PATH
//   --pytorch-threads N    torch.set_num_threads (default: the CPU count)
//   --wasm-threads N       threads for tfjs-backend-wasm (default: the CPU count)
//   --json FILE            write every figure
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeEngine } from '../src/node/gpu.js';
import { benchMatmul } from './matmul.js';
import { benchConv } from './conv.js';
import { benchDispatch } from './dispatch.js';
import { benchStep } from './step.js';
import { benchGrowth } from './growth.js';
import { profileStep } from './profile.js';
import { timeRecipeStep } from './recipe-step.js';
import { stepComparison } from './compare.js';
import { PEERS } from './peers.js';
import { STEP_PEERS, type StepPeer } from './compare.js';
import { BLAS_CHOICES, type BlasChoice } from './pytorch-peer.js';
import { table } from './table.js';
import { UsageError } from '../src/node/args.js';

const DEFAULT_GROWTH_STEPS = '1000';

function options() {
  // `--growth` may come without a count
  const args = process.argv.slice(2).map((a, i, all) => (a === '--growth' && !/^\d+$/.test(all[i + 1] ?? '') ? `--growth=${DEFAULT_GROWTH_STEPS}` : a));
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean' }, step: { type: 'boolean' }, json: { type: 'string' }, profile: { type: 'boolean' }, conditional: { type: 'boolean' }, recipe: { type: 'string' }, 'train-flags': { type: 'string' },
      growth: { type: 'string' }, 'growth-batch': { type: 'string', default: '16' },
      'no-tfjs': { type: 'boolean' }, peers: { type: 'string', default: PEERS.join(',') },
      'wasm-threads': { type: 'string', default: String(os.availableParallelism()) },
      'pytorch-threads': { type: 'string', default: String(os.availableParallelism()) },
      'pytorch-blas': { type: 'string', default: 'system' },
    },
    strict: true,
  });
  const positive = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive integer, got ${v}`);
    return n;
  };
  const peers = values.peers.split(',').filter(Boolean).map((p) => {
    if (!(STEP_PEERS as readonly string[]).includes(p)) throw new Error(`--peers: unknown peer ${p} (known: ${STEP_PEERS.join(', ')})`);
    return p as StepPeer;
  }).filter((p) => !(values['no-tfjs'] && p !== 'pytorch'));
  const pytorchBlas = values['pytorch-blas'].split(',').filter(Boolean).map((b) => {
    if (!(BLAS_CHOICES as string[]).includes(b)) throw new Error(`--pytorch-blas: unknown BLAS ${b} (known: ${BLAS_CHOICES.join(', ')})`);
    return b as BlasChoice;
  });
  return {
    quick: Boolean(values.quick), step: Boolean(values.step), profile: Boolean(values.profile), conditional: Boolean(values.conditional), json: values.json, peers,
    recipes: values.recipe === undefined ? [] : values.recipe.split(',').filter(Boolean),
    trainFlags: (values['train-flags'] ?? '').split(' ').filter(Boolean),
    growth: values.growth === undefined ? null : positive('growth', values.growth),
    growthBatch: positive('growth-batch', values['growth-batch']),
    wasmThreads: positive('wasm-threads', values['wasm-threads']),
    pytorch: { threads: positive('pytorch-threads', values['pytorch-threads']), blas: pytorchBlas },
  };
}

async function main(): Promise<void> {
  const opts = options();
  const { quick } = opts;
  const engine = await createNodeEngine();
  console.log(`adapter: ${engine.adapterName}`);
  console.log(`date: ${new Date().toISOString()}  node ${process.version}  ${os.availableParallelism()} CPUs${quick ? '  (quick)' : ''}\n`);

  const results: Record<string, unknown> = { adapter: engine.adapterName, date: new Date().toISOString(), cpus: os.availableParallelism(), quick };
  if (opts.profile) {
    const profile = await profileStep(engine, 128, quick ? 3 : 5, opts.conditional);
    console.log(`${opts.conditional ? 'class-conditional ' : ''}training step at batch 128, kernel by kernel (median of ${quick ? 3 : 5} steps, each dispatch submitted alone: ${profile.msPerStep.toFixed(0)} ms/step)`);
    console.log(table(profile.kernels.map((k) => ({ kernel: k.label, dispatches: k.dispatches, ms: k.ms, share: `${(100 * k.share).toFixed(1)}%` }))) + '\n');
    results.profile = profile;
  }
  if (opts.recipes.length) {
    const costs = [];
    for (const name of opts.recipes) costs.push(await timeRecipeStep(engine, name, quick ? 4 : 16, opts.trainFlags));
    console.log('training step of each recipe (mean over the timed steps, after one warm-up step)');
    console.log(table(costs.map((c) => ({ recipe: c.recipe, 'train flags': c.flags, batch: c.batch, steps: c.steps, 'ms/step': c.msPerStep, 'images/s': c.imagesPerSecond, 's/epoch (60k)': c.secondsPerEpoch }))) + '\n');
    results.recipes = costs;
  }
  if (!opts.step && !opts.profile && opts.growth === null && !opts.recipes.length) {
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
    const step = await benchStep(engine, 128, quick ? 2 : 5);
    console.log('DCGAN training step (D step + G step, losses read back)');
    console.log(table([{
      batch: step.batch, 'ms/step': step.msPerStep, 'images/s': step.imagesPerSecond,
      dispatches: step.dispatchesPerStep, submits: step.submitsPerStep, readbacks: step.readbacksPerStep, 'peak MB': step.peakBytes / 2 ** 20, 'pool MB': step.poolBytes / 2 ** 20, 'texture MB': step.textureBytes / 2 ** 20,
    }]));
    Object.assign(results, { matmul, conv, dispatch, step: [step] });
  }
  let sameModel = true;
  if (opts.step) {
    const comparison = await stepComparison(engine, { quick, peers: opts.peers, wasmThreads: opts.wasmThreads, pytorch: opts.pytorch, log: console.log });
    sameModel = comparison.step.model.same;
    Object.assign(results, comparison);
  }
  if (opts.growth !== null) {
    console.log(`\ngrowth check: ${opts.growth} steps at batch ${opts.growthBatch}`);
    const growth = await benchGrowth(engine, opts.growth, opts.growthBatch, console.log);
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(table((['start', 'end'] as const).map((when) => {
      const s = growth[when];
      return { '': when, 'pool MB': mb(s.allocatedBytes), buffers: s.buffersCreated, 'in use MB': mb(s.inUseBytes), pipelines: s.pipelines };
    })));
    console.log(`median step: ${growth.msFirst.toFixed(0)} ms over the first tenth, ${growth.msLast.toFixed(0)} ms over the last; ` +
      (growth.grew ? 'GREW: the pool or the pipeline cache grew over the run' : 'no growth'));
    results.growth = growth;
  }
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify(results, null, 2));
    console.log(`\nwrote ${opts.json}`);
  }
  if (!sameModel) throw new Error('the systems compared do not train the same model (see above)');
}

main().then(() => process.exit(0), (e) => {
  // A bad --recipe or --train-flags is the user's to fix: one line, as npm run train gives it.
  if (e instanceof UsageError) console.error(`error: ${e.message.split('\n')[0]}`);
  else console.error(e);
  process.exit(1);
});
