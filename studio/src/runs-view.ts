// Watch a CLI run: a run folder's metrics.jsonl (per-step lines when the run logs them, else per-epoch ones) as
// curves, and its sample grids, polled every 2 s while the run writes them. Needs no GPU.
import { byId, setStatus, errorText, fillSelect } from './dom.js';
import { drawLines, type Series } from './chart.js';

interface MetricsLine {
  kind?: string;
  epoch?: number;
  step: number;
  loss_d: number;
  loss_g: number;
  d_real?: number;
  d_fake?: number;
  images_per_s?: number;
  fid?: number;
}

export interface RunsView {
  /** Re-reads the run list and the selected run now. */
  refresh(): Promise<void>;
}

/** The complete lines of a metrics.jsonl (a torn last line, still being written, is left for the next poll). */
export function parseMetrics(text: string): MetricsLine[] {
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').flatMap((raw) => {
    if (!raw.trim()) return [];
    try {
      const line = JSON.parse(raw) as MetricsLine;
      return typeof line.step === 'number' ? [line] : [];
    } catch {
      return [];
    }
  });
}

export function runsView(): RunsView {
  const select = byId<HTMLSelectElement>('r-run');
  const follow = byId<HTMLInputElement>('r-follow');
  const status = byId('r-status');
  const lossCanvas = byId<HTMLCanvasElement>('r-loss');
  const dCanvas = byId<HTMLCanvasElement>('r-d');
  const lossCaption = byId('r-loss-caption');
  const image = byId<HTMLImageElement>('r-sample');
  const pick = byId<HTMLInputElement>('r-sample-pick');
  const sampleName = byId('r-sample-name');

  let shown = { run: '', metrics: '', samples: '' };
  let samples: string[] = [];
  let following = true;

  const showSample = () => {
    const name = samples[Number(pick.value)];
    if (!name) return;
    image.src = `/runs/${encodeURIComponent(select.value)}/samples/${encodeURIComponent(name)}`;
    sampleName.textContent = `${name} (${Number(pick.value) + 1} of ${samples.length})`;
  };

  async function refreshRun(): Promise<void> {
    const run = select.value;
    if (!run) return;
    const described = await fetch(`/api/runs/${encodeURIComponent(run)}`);
    if (!described.ok) throw new Error(`run ${run}: HTTP ${described.status}`);
    const info = (await described.json()) as { metrics: boolean; samples: string[] };
    const text = info.metrics ? await (await fetch(`/runs/${encodeURIComponent(run)}/metrics.jsonl`)).text() : '';
    if (shown.run !== run || shown.metrics !== text) {
      const lines = parseMetrics(text);
      const steps = lines.filter((l) => l.kind === 'step');
      const epochs = lines.filter((l) => l.kind !== 'step');
      const use = steps.length > epochs.length ? steps : epochs;
      const points = (key: keyof MetricsLine) => use.map((l) => ({ x: l.step, y: Number(l[key]) }));
      const loss: Series[] = [{ name: 'D loss', color: '#d23c3c', points: points('loss_d') }, { name: 'G loss', color: '#3264dc', points: points('loss_g') }];
      const d: Series[] = [{ name: 'D(x)', color: '#2a9d4b', points: points('d_real') }, { name: 'D(G(z))', color: '#e08a1e', points: points('d_fake') }];
      drawLines(lossCanvas, loss);
      drawLines(dCanvas, d, { fixedY: [0, 1] });
      lossCaption.textContent = `D and G loss per ${use === steps ? 'logged step' : 'epoch'} (x: step)`;
      const last = epochs[epochs.length - 1];
      const fid = epochs.filter((l) => l.fid !== undefined).pop();
      setStatus(status, lines.length === 0 ? `${run}: no metrics yet` :
        `${run}: ${epochs.length} epoch${epochs.length === 1 ? '' : 's'}, ${steps.length} step lines` +
        (last ? ` | last epoch ${last.epoch}: D ${last.loss_d.toFixed(4)} G ${last.loss_g.toFixed(4)}${last.images_per_s ? `, ${last.images_per_s.toFixed(1)} images/s` : ''}` : '') +
        (fid ? ` | FID ${fid.fid!.toFixed(2)} at epoch ${fid.epoch}` : ''));
      status.dataset.lines = String(lines.length);
    }
    const sampleKey = info.samples.join(',');
    if (shown.run !== run || shown.samples !== sampleKey) {
      const atEnd = Number(pick.value) >= samples.length - 1;
      samples = info.samples;
      pick.max = String(Math.max(0, samples.length - 1));
      if (atEnd || shown.run !== run) pick.value = pick.max;
      if (samples.length) showSample();
      else {
        image.removeAttribute('src');
        sampleName.textContent = 'no sample grids yet';
      }
    }
    shown = { run, metrics: text, samples: sampleKey };
  }

  async function refresh(): Promise<void> {
    try {
      const { folder, runs } = (await (await fetch('/api/runs')).json()) as { folder: string; runs: { name: string }[] };
      const names = runs.map((r) => r.name);
      if (names.join('\n') !== [...select.options].map((o) => o.value).join('\n')) {
        const current = select.value;
        fillSelect(select, names.map((n) => ({ value: n, label: n })));
        if (names.includes(current)) select.value = current;
      }
      if (names.length === 0) {
        setStatus(status, `no runs in ${folder} yet (npm run train -- --out ${folder}/NAME writes one; start the studio with --runs DIR for another folder)`);
        return;
      }
      await refreshRun();
    } catch (e) {
      setStatus(status, `error: ${errorText(e)}`, true);
    }
  }

  select.addEventListener('change', () => void refresh());
  pick.addEventListener('input', showSample);
  follow.addEventListener('change', () => (following = follow.checked));
  const poll = async () => {
    if (following && !document.hidden) await refresh();
    setTimeout(poll, 2000);
  };
  void poll();
  return { refresh };
}
