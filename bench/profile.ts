// Where a training step's time goes, kernel by kernel: with engine.profile set, every dispatch is submitted
// alone and the time between successive completions is charged to it. Dispatches of one kernel (label) are
// summed over the step; the median over a few steps is reported. Submitting each dispatch alone costs a
// little, so the total runs above the normal step time.
// Conv and matmul dispatches are labelled with the plans that chose them (conv-plan.ts, matmul-plan.ts):
// `<op>.<direction>[<variant>]:<step>`, a matmul's step being `matmul[<variant>]<:TA/:TB> M×N×K`, e.g.
// `convTranspose2d.forward[gemm-texture]:matmul[subgroup]:TA 1024×6272×128` or `conv2d.gradInput[gemm-texture]:col2im`.
// Other kernels are labelled by their shader name (and op, e.g. `unary:relu`).
import type { Engine, DispatchRecord } from '../src/runtime/engine.js';
import { GanTrainer, DEFAULT_GAN_CONFIG } from '../src/gan/trainer.js';
import { randn } from '../src/tensor/ops/create.js';
import { median } from './stats.js';

export interface KernelCost {
  label: string;
  dispatches: number;
  ms: number;
  share: number;
}

/** `conditional`: the class-conditional DCGAN (`--conditional`), with labels 0…9 in turn. */
export async function profileStep(engine: Engine, batch: number, steps: number, conditional = false): Promise<{ msPerStep: number; kernels: KernelCost[] }> {
  const trainer = new GanTrainer(engine, { ...DEFAULT_GAN_CONFIG, conditional });
  const real = randn(engine, [batch, 1, 28, 28], 0, 0.5);
  const labels = conditional ? Array.from({ length: batch }, (_, i) => i % 10) : undefined;
  const runStep = async () => {
    const stats = trainer.step(real, labels);
    await stats.toArray();
    stats.dispose();
  };
  await runStep(); // compiles the pipelines
  const perStep: Map<string, { ms: number; n: number }>[] = [];
  const totals: number[] = [];
  for (let s = 0; s < steps; s++) {
    await engine.sync();
    const records: DispatchRecord[] = [];
    engine.profile = records;
    const start = performance.now();
    try {
      await runStep();
    } finally {
      engine.profile = null;
    }
    await engine.sync();
    totals.push(performance.now() - start);
    const costs = new Map<string, { ms: number; n: number }>();
    let previous = start;
    for (const r of records) {
      const c = costs.get(r.label) ?? { ms: 0, n: 0 };
      c.ms += r.done - previous;
      c.n++;
      costs.set(r.label, c);
      previous = r.done;
    }
    perStep.push(costs);
  }
  real.dispose();
  trainer.dispose();
  const msPerStep = median(totals);
  const kernels = [...perStep[0].keys()].map((label) => {
    const ms = median(perStep.map((c) => c.get(label)?.ms ?? 0));
    return { label, dispatches: perStep[0].get(label)!.n, ms, share: ms / msPerStep };
  });
  return { msPerStep, kernels: kernels.sort((a, b) => b.ms - a.ms) };
}
