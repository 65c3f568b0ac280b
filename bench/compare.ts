// `--step`: atelier's DCGAN training step against the identical model on TensorFlow.js backends, with what
// explains the time: the FLOP rate against this adapter's best matmul, and how the cost grows with the batch.
import type { Engine } from '../src/runtime/engine.js';
import { benchMatmul, type MatmulBenchRow } from './matmul.js';
import { benchStep, type StepFigures } from './step.js';
import { dcganStepFlops, type StepFlops } from './flops.js';
import { atelierModelFacts, modelDifferences, totalParams, type ModelFacts } from './model-check.js';
import { benchPeer, PEERS, type Peer, type PeerFailure } from './peers.js';
import { benchPytorch, detectTorch, type BlasChoice } from './pytorch-peer.js';
import { table } from './table.js';

/** The peers `--peers` may name: the TensorFlow.js backends and PyTorch (bench/pytorch-peer.ts). */
export const STEP_PEERS = [...PEERS, 'pytorch'] as const;
export type StepPeer = (typeof STEP_PEERS)[number];

export interface CompareOptions {
  quick: boolean;
  peers: StepPeer[];
  wasmThreads: number;
  /** PyTorch's threads and the BLAS libraries to time it with, one row each. */
  pytorch: { threads: number; blas: BlasChoice[] };
  log: (text: string) => void;
}

interface SystemRow {
  system: string;
  detail: string;
  batch: number;
  msPerStep: number;
  imagesPerSecond: number;
  gflops: number;
  fractionOfBestMatmul: number;
  /** How many times faster atelier is than this system (1 for atelier itself). */
  atelierSpeedup: number;
  steps: number;
  warmups: number;
  params: { G: number; D: number };
  firstStats: number[];
  threads?: number;
}

export interface StepComparison {
  speedup_vs_tfjs_webgpu: number | null;
  speedup_vs_tfjs_wasm: number | null;
  speedup_vs_tfjs_wasm_xnnpack: number | null;
  /** By system name (pytorch-reference, pytorch-openblas, …). */
  speedup_vs_pytorch: Record<string, number>;
  step: {
    batch: number;
    flops: StepFlops;
    bestMatmul: MatmulBenchRow;
    matmul: MatmulBenchRow[];
    systems: SystemRow[];
    costGrowth: (StepFigures & { gflops: number })[];
    model: { facts: Record<string, ModelFacts>; same: boolean; differences: string[] };
    peerFailures: PeerFailure[];
    /** The one-line reason the PyTorch peer was asked for and skipped. */
    pytorchSkipped?: string;
    /** PyTorch's largest relative difference from atelier's G and D outputs on the same weights and input. */
    outputDifferences: Record<string, number>;
  };
}

const BATCH = 128;
const COST_BATCHES = [32, 64, 128, 256];

const fmtStats = (s: number[]) => (s.length ? `${s[0].toFixed(2)} / ${s[1].toFixed(2)}` : '');

export async function stepComparison(engine: Engine, opts: CompareOptions): Promise<StepComparison> {
  const { quick, log } = opts;
  const [runs, warmups] = quick ? [3, 1] : [10, 2];
  const flops = dcganStepFlops(BATCH);
  const gflopsAt = (batch: number, ms: number) => dcganStepFlops(batch).total / (ms * 1e6);

  const matmul = await benchMatmul(engine, { quick, algorithms: ['fast'] });
  const bestMatmul = matmul.reduce((a, b) => (b.gflops > a.gflops ? b : a));

  const costGrowth = [];
  for (const batch of COST_BATCHES) {
    const s = await benchStep(engine, batch, runs, warmups);
    costGrowth.push({ ...s, gflops: gflopsAt(batch, s.msPerStep) });
  }
  const atelier = costGrowth.find((s) => s.batch === BATCH)!;
  const facts: Record<string, ModelFacts> = { atelier: atelierModelFacts(engine) };
  const paramsOf = (f: ModelFacts) => ({ G: totalParams(f.G), D: totalParams(f.D) });
  const row = (system: string, detail: string, ms: number, rest: Pick<SystemRow, 'steps' | 'warmups' | 'params' | 'firstStats' | 'threads'>): SystemRow => ({
    system, detail, batch: BATCH, msPerStep: ms, imagesPerSecond: (BATCH * 1000) / ms, gflops: gflopsAt(BATCH, ms),
    fractionOfBestMatmul: gflopsAt(BATCH, ms) / bestMatmul.gflops, atelierSpeedup: ms / atelier.msPerStep, ...rest,
  });
  const systems = [row('atelier', 'WebGPU (Dawn), hand-written WGSL', atelier.msPerStep, {
    steps: atelier.steps, warmups: atelier.warmups, params: paramsOf(facts.atelier), firstStats: atelier.firstStats,
  })];

  const peerFailures: PeerFailure[] = [];
  for (const peer of opts.peers) {
    if (peer === 'pytorch') continue;
    log(`timing tfjs-${peer} (${warmups} warm-up + ${runs} steps at batch ${BATCH}) …`);
    try {
      const p = await benchPeer(peer, { batch: BATCH, runs, warmups, wasmThreads: opts.wasmThreads });
      facts[p.system] = p.facts;
      const where = p.adapter === undefined ? '' : p.adapter === engine.adapterName ? ', the same adapter' : `, adapter ${p.adapter}`;
      systems.push(row(p.system, p.detail + where, p.msPerStep, { steps: p.steps, warmups: p.warmups, params: paramsOf(p.facts), firstStats: p.firstStats, threads: p.threads }));
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      peerFailures.push({ system: `tfjs-${peer}`, error });
      log(`  tfjs-${peer} failed: ${error}`);
    }
  }
  const outputDifferences: Record<string, number> = {};
  const outputProblems: string[] = [];
  let pytorchSkipped: string | undefined;
  if (opts.peers.includes('pytorch')) {
    const torch = detectTorch();
    if (!torch.ok) {
      pytorchSkipped = torch.message;
      log(torch.message);
    } else for (const blas of opts.pytorch.blas) {
      log(`timing pytorch ${torch.version}, BLAS ${blas === 'system' ? "Debian's alternative" : blas}, ${opts.pytorch.threads} threads (${warmups} warm-up + ${runs} steps at batch ${BATCH}) …`);
      try {
        const p = await benchPytorch(engine, torch.python, { batch: BATCH, runs, warmups, threads: opts.pytorch.threads, blas });
        let system = p.system;
        for (let i = 2; facts[system]; i++) system = `${p.system}-${i}`;
        facts[system] = p.facts;
        outputDifferences[system] = p.outputDifference;
        outputProblems.push(...p.outputProblems.map((m) => `${system}: ${m}`));
        systems.push(row(system, p.detail, p.msPerStep, { steps: p.steps, warmups: p.warmups, params: paramsOf(p.facts), firstStats: p.firstStats, threads: p.threads }));
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        peerFailures.push({ system: `pytorch (${blas})`, error });
        log(`  pytorch (${blas}) failed: ${error}`);
      }
    }
  }
  const differences = [...modelDifferences(facts), ...outputProblems];
  const speedup = (system: string) => systems.find((s) => s.system === system)?.atelierSpeedup ?? null;
  const result: StepComparison = {
    speedup_vs_tfjs_webgpu: speedup('tfjs-webgpu'),
    speedup_vs_tfjs_wasm: speedup('tfjs-wasm'),
    speedup_vs_tfjs_wasm_xnnpack: speedup('tfjs-wasm-xnnpack'),
    speedup_vs_pytorch: Object.fromEntries(systems.filter((s) => s.system.startsWith('pytorch')).map((s) => [s.system, s.atelierSpeedup])),
    step: {
      batch: BATCH, flops, bestMatmul, matmul, systems, costGrowth, model: { facts, same: differences.length === 0, differences }, peerFailures,
      pytorchSkipped, outputDifferences,
    },
  };
  printComparison(result, log);
  return result;
}

function printComparison({ step }: StepComparison, log: (text: string) => void): void {
  const { flops, bestMatmul, systems, costGrowth, model } = step;
  log(`\nthe same DCGAN in each system: layer outputs (per image, C×H×W) and parameter counts`);
  const names = Object.keys(model.facts);
  const layerRows: Record<string, string | number>[] = [];
  for (const net of ['G', 'D'] as const) {
    model.facts.atelier[net].forEach((layer, i) => {
      const r: Record<string, string | number> = { layer: `${net}${i} ${layer.name}` };
      for (const name of names) {
        const l = model.facts[name][net][i];
        r[name] = l ? `${l.shape}${l.params ? `, ${l.params.toLocaleString('en-US')} p` : ''}` : '—';
      }
      layerRows.push(r);
    });
  }
  for (const net of ['G', 'D'] as const) {
    const r: Record<string, string | number> = { layer: `${net} parameters` };
    for (const name of names) r[name] = totalParams(model.facts[name][net]).toLocaleString('en-US');
    layerRows.push(r);
  }
  log(table(layerRows));
  log(model.same ? `same model: yes (${names.join(', ')})` : `SAME MODEL: NO\n  ${model.differences.join('\n  ')}`);
  for (const [system, worst] of Object.entries(step.outputDifferences)) {
    log(`same outputs: ${system}'s G(z) and D(x) on atelier's weights and inputs (batch 4, training mode) within ${worst.toExponential(1)} (relative) of atelier's`);
  }

  log(`\nstep FLOPs at batch ${step.batch}: ${(flops.total / 1e9).toFixed(2)} GFLOP (convolutions: D step ${(flops.dStep / 1e9).toFixed(2)}, G step ${(flops.gStep / 1e9).toFixed(2)}; ` +
    `${(flops.totalWithDWeightGrads / 1e9).toFixed(2)} if the G step also computed D's weight gradients)`);
  log(`best matmul on this adapter in this run: ${bestMatmul.gflops.toFixed(2)} GFLOP/s (${bestMatmul.shape}, fast kernel)\n`);
  log(`DCGAN training step at batch ${step.batch} (D step + G step, 4 statistics read back; median of ${systems[0].steps} after ${systems[0].warmups} warm-up)`);
  log(table(systems.map((s) => ({
    system: s.system, 'ms/step': s.msPerStep, 'images/s': s.imagesPerSecond, 'GFLOP/s': s.gflops,
    'of best matmul': `${(100 * s.fractionOfBestMatmul).toFixed(0)} %`, 'atelier speedup': s.system === 'atelier' ? '—' : `${s.atelierSpeedup.toFixed(2)}×`,
    'step-1 lossD / lossG': fmtStats(s.firstStats), ran: s.detail,
  }))));
  log(`(GFLOP/s: the convolutions' FLOPs above over the step time; "of best matmul": that rate over atelier's best matmul rate on this adapter)`);
  for (const f of step.peerFailures) log(`${f.system}: FAILED — ${f.error}`);
  if (step.pytorchSkipped) log(step.pytorchSkipped);

  log(`\natelier's cost as the batch grows`);
  log(table(costGrowth.map((s) => ({
    batch: s.batch, 'ms/step': s.msPerStep, 'images/s': s.imagesPerSecond, 'GFLOP/s': s.gflops,
    dispatches: s.dispatchesPerStep, submits: s.submitsPerStep, readbacks: s.readbacksPerStep, 'peak MB': s.peakBytes / 2 ** 20, 'pool MB': s.poolBytes / 2 ** 20, 'texture MB': s.textureBytes / 2 ** 20,
  }))));
}
