// The bench's PyTorch peer (bench/pytorch-peer.ts, bench/pytorch/step.py): skipped with one line when the
// interpreter or torch is missing; where torch is importable, the same model as atelier's — the same layers and
// parameter counts, and the same G and D outputs on atelier's weights and inputs.
import { describe, it, expect, afterAll } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getEngine } from './helpers.js';
import { detectTorch, outputDifferences, OUTPUT_TOLERANCE, PYTHON_ENV, runStepScript, writeCheckInputs } from '../bench/pytorch-peer.js';
import { atelierModelFacts, modelDifferences, totalParams } from '../bench/model-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-pytorch-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An executable that fails the way a python3 without torch does. */
function pythonWithoutTorch(): string {
  const file = path.join(dir, 'python-without-torch');
  writeFileSync(file, "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
  chmodSync(file, 0o755);
  return file;
}

describe('PyTorch peer: skipped cleanly without python3 or torch', () => {
  const cases: [string, () => string, string][] = [
    ['an interpreter that does not exist', () => path.join(dir, 'no-such-python3'), 'not found'],
    ['an interpreter that fails (/bin/false)', () => '/bin/false', 'exit status 1'],
    ['a python3 without torch', pythonWithoutTorch, "No module named 'torch'"],
  ];
  it.each(cases)('%s', (_, interpreter, reason) => {
    const python = interpreter();
    const found = detectTorch({ ...process.env, [PYTHON_ENV]: python });
    expect(found.ok).toBe(false);
    if (found.ok) return;
    expect(found.message.split('\n')).toHaveLength(1);
    expect(found.message).toMatch(/^PyTorch peer skipped: /);
    expect(found.message).toContain(`${python} -c 'import torch' failed`);
    expect(found.message).toContain(reason);
    expect(found.message).toMatch(/apt-get install python3-torch$/);
  });

  it('a PATH without python3 and no Debian python3 behind it is a skip, not a crash', () => {
    // ATELIER_PYTHON names the PATH lookup itself, so /usr/bin/python3 is not tried
    const found = detectTorch({ PATH: dir, [PYTHON_ENV]: 'python3' });
    expect(found).toEqual({ ok: false, message: "PyTorch peer skipped: python3 -c 'import torch' failed (python3 not found); apt-get install python3-torch" });
  });
});

describe('outputDifferences', () => {
  const atelier = { G: Float32Array.from([0.5, -0.25, 0]), D: Float32Array.from([1.5]) };
  it('accepts float32 rounding and refuses a real difference, per network', () => {
    expect(outputDifferences(atelier, { G: [0.5000001, -0.25, 1e-7], D: [1.5000002] }).problems).toEqual([]);
    const off = outputDifferences(atelier, { G: [0.5, -0.25, 0], D: [1.6] });
    expect(off.problems).toHaveLength(1);
    expect(off.problems[0]).toMatch(/^D output/);
    expect(off.worst).toBeGreaterThan(OUTPUT_TOLERANCE);
    expect(outputDifferences(atelier, { G: [0.5, -0.25], D: [1.5] }).problems[0]).toMatch(/^G output: 3 values in atelier, 2 in pytorch/);
  });
});

const torch = detectTorch();
describe.skipIf(!torch.ok)(`PyTorch peer: the same model as atelier's${torch.ok ? '' : ` — skipped: ${torch.message}`}`, () => {
  it('same layers and parameter counts, same G(z) and D(x) on atelier weights and inputs', async () => {
    if (!torch.ok) return;
    const engine = await getEngine();
    const check = await writeCheckInputs(engine, path.join(dir, 'check.safetensors'));
    const run = runStepScript(torch.python, { batch: 4, steps: 1, warmups: 0, threads: 1, check: check.file });
    const atelier = atelierModelFacts(engine);
    expect(modelDifferences({ atelier, pytorch: run.facts })).toEqual([]);
    expect(totalParams(run.facts.G)).toBe(totalParams(atelier.G));
    expect(totalParams(run.facts.D)).toBe(totalParams(atelier.D));
    const { worst, problems } = outputDifferences(check, run.check!);
    expect(problems).toEqual([]);
    expect(worst).toBeLessThan(OUTPUT_TOLERANCE);
    expect(run.firstStats).toHaveLength(4);
    expect(run.firstStats.every(Number.isFinite)).toBe(true);
    expect(run.blas).toMatch(/^(reference|openblas|blis|mkl|atlas|unknown)$/);
  });
});
