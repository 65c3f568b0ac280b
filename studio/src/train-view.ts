// Train in the tab: Fashion-MNIST fetched from the studio server (gunzipped in the page), the library's training
// loop (runTraining) on the page's engine, live curves, the fixed-z grid after each epoch, pause and resume, and
// a checkpoint download in the format `npm run train` writes (encodeTrainingCheckpoint), which `generate` and
// `train --resume` read. The run is set up as the CLI sets it up for the same flags, so the same settings give
// the same data order, initial weights and fixed z. "class-conditional" is train's --conditional: the grid then
// has one row of the same 8 z per class (10 × 8).
import {
  GanTrainer, Batcher, runTraining, fetchFashionMnist, encodeTrainingCheckpoint, generatePixels, drawToCanvas, keep,
  drawFixedSamples, conditionalInput, specOfConfig,
  findPreset, PRESET_NAMES, DEFAULT_GAN_CONFIG, DEFAULT_PRESET, FASHION_MNIST_CLASSES,
  type GanConfig, type EpochTotals, type Tensor, type StepReport,
} from 'atelier';
import type { Gpu } from './gpu.js';
import { byId, setStatus, errorText, intOf, fillSelect } from './dom.js';
import { drawLines, type Series } from './chart.js';

/** The run in progress (or finished): what a checkpoint needs, and where the loop stands. */
interface Run {
  trainer: GanTrainer;
  batcher: Batcher;
  fixedZ: Tensor;
  /** The class of each fixed z (a conditional run's grid rows); absent otherwise. */
  fixedLabels?: Float32Array;
  /** G's input for the grid: fixedZ, or [fixedZ ; onehot(fixedLabels)] for a conditional run. */
  gridInput: Tensor;
  /** The training options as the CLI stores them (StoredOptions). */
  config: Record<string, unknown>;
  moment: { step: number; epochsDone: number; totals: EpochTotals };
  abort: AbortController;
  done: boolean;
}

export interface TrainView {
  /** Resolves when the run started by the Start button ends (or at once when none runs). */
  finished(): Promise<void>;
  state(): { step: number; running: boolean; paused: boolean; losses: { lossD: number; lossG: number; dReal: number; dFake: number }[]; error?: string };
}

export function trainView(gpu: Gpu): TrainView {
  const { engine } = gpu;
  const model = byId<HTMLSelectElement>('t-model');
  const classSelect = byId<HTMLSelectElement>('t-class');
  const conditionalBox = byId<HTMLInputElement>('t-conditional');
  const limit = byId<HTMLInputElement>('t-limit');
  const batch = byId<HTMLInputElement>('t-batch');
  const epochs = byId<HTMLInputElement>('t-epochs');
  const seed = byId<HTMLInputElement>('t-seed');
  const start = byId<HTMLButtonElement>('t-start');
  const pause = byId<HTMLButtonElement>('t-pause');
  const save = byId<HTMLButtonElement>('t-save');
  const status = byId('t-status');
  const lossCanvas = byId<HTMLCanvasElement>('t-loss');
  const dCanvas = byId<HTMLCanvasElement>('t-d');
  const grid = byId<HTMLCanvasElement>('t-grid');
  const gridCaption = byId('t-grid-caption');

  fillSelect(model, PRESET_NAMES.map((n) => ({ value: n, label: n })));
  model.value = DEFAULT_PRESET;
  fillSelect(classSelect, [{ value: 'all', label: 'all classes' }, ...FASHION_MNIST_CLASSES.map((c, i) => ({ value: String(i), label: `${i} ${c}` }))]);
  classSelect.value = '9';

  let run: Run | undefined;
  let running: Promise<void> = Promise.resolve();
  let paused = false;
  let resume: (() => void) | undefined;
  let error: string | undefined;
  const losses: { lossD: number; lossG: number; dReal: number; dFake: number }[] = [];
  const series = {
    lossD: { name: 'D loss', color: '#d23c3c', points: [] } as Series,
    lossG: { name: 'G loss', color: '#3264dc', points: [] } as Series,
    dReal: { name: 'D(x)', color: '#2a9d4b', points: [] } as Series,
    dFake: { name: 'D(G(z))', color: '#e08a1e', points: [] } as Series,
  };
  const drawCharts = () => {
    drawLines(lossCanvas, [series.lossD, series.lossG]);
    drawLines(dCanvas, [series.dReal, series.dFake], { fixedY: [0, 1] });
  };
  drawCharts();

  const drawFixedGrid = async (r: Run, label: string) => {
    const { pixels, count, height, width } = await generatePixels(engine, r.trainer.sampler, r.gridInput);
    drawToCanvas(grid, { data: pixels.map((v) => (v + 1) / 2), count, channels: 1, height, width }, { cols: 8 });
    gridCaption.textContent = `fixed z${r.fixedLabels ? ', one row per class' : ''}, ${label}`;
  };

  const setRunning = (on: boolean) => {
    for (const input of [model, classSelect, conditionalBox, limit, batch, epochs, seed]) input.disabled = on;
    start.textContent = on ? 'Stop' : 'Start';
    pause.disabled = !on;
    pause.textContent = 'Pause';
    paused = false;
    save.disabled = on;
  };

  async function train(): Promise<void> {
    error = undefined;
    const preset = findPreset(model.value)!;
    const cls = classSelect.value;
    const options = {
      epochs: intOf(epochs, 1, 10_000), batchSize: intOf(batch, 1, 4096), limit: intOf(limit, 1), seed: intOf(seed, 0, 2 ** 32 - 1),
      classes: cls === 'all' ? [] : [FASHION_MNIST_CLASSES[Number(cls)]],
    };
    const d = preset.defaults;
    const config: GanConfig = {
      ...DEFAULT_GAN_CONFIG, model: preset.name, seed: options.seed,
      latentDim: d.latentDim, lrG: d.lrG, lrD: d.lrD, beta1: d.beta1, beta2: d.beta2, realLabel: d.realLabel, labelNoise: d.labelNoise,
      // Stored only when set, as train stores --conditional.
      ...(conditionalBox.checked ? { conditional: true } : {}),
    };
    if (config.conditional) {
      try {
        specOfConfig(config);
      } catch (e) {
        throw new Error(`${preset.name} cannot be class-conditional (${errorText(e).replace(/^[^:]*: /, '')}); untick class-conditional or pick another model`);
      }
    }
    setStatus(status, 'fetching Fashion-MNIST from the studio server…');
    const info = (await (await fetch('/api/info')).json()) as { data: string; dataFiles: string[] };
    if (!info.dataFiles.some((f) => f.startsWith('train-images')) || !info.dataFiles.some((f) => f.startsWith('train-labels'))) {
      throw new Error(`the studio server has no Fashion-MNIST training files in ${info.data}; start it with --data DIR (a folder holding train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz)`);
    }
    const fetched = performance.now();
    const data = await fetchFashionMnist('/data/', { split: 'train', classes: options.classes.length ? options.classes : undefined, limit: options.limit });
    const fetchSeconds = (performance.now() - fetched) / 1000;
    disposeRun();
    // As `npm run train` builds it: trainer (seeds weights), batcher, then the fixed z (and labels) from its own seed.
    const trainer = new GanTrainer(engine, config);
    const batcher = new Batcher({ images: data.images, labels: data.labels, count: data.count, itemSize: data.height * data.width }, options.batchSize, { seed: options.seed });
    const conditional = trainer.spec.conditional;
    const { z: fixedZ, labels: fixedLabels } = await drawFixedSamples(engine, config.latentDim, options.seed, conditional);
    const gridInput = conditional ? keep(conditionalInput(engine, fixedZ, fixedLabels!, conditional.classes)) : fixedZ;
    const stored = {
      epochs: options.epochs, decayEpochs: 0, batchSize: options.batchSize, ...config, classes: options.classes, limit: options.limit,
      data: info.data, sampleEvery: 0, logEvery: 0, evalEvery: 0, evalN: 2000,
    };
    const r: Run = { trainer, batcher, fixedZ, fixedLabels, gridInput, config: stored, moment: { step: 0, epochsDone: 0, totals: { lossD: 0, lossG: 0, dReal: 0, dFake: 0, steps: 0, seconds: 0 } }, abort: new AbortController(), done: false };
    run = r;
    losses.length = 0;
    for (const s of Object.values(series)) s.points = [];
    drawCharts();
    await drawFixedGrid(r, 'before training');
    const what = `${data.count} images (${cls === 'all' ? 'all classes' : FASHION_MNIST_CLASSES[Number(cls)]}${conditional ? `; class-conditional, ${conditional.classes} classes` : ''}), fetched and gunzipped in ${fetchSeconds.toFixed(1)} s`;
    setStatus(status, `${what}; ${batcher.batchesPerEpoch} batches of ${options.batchSize} per epoch; training…`);

    const onStep = async (s: StepReport) => {
      losses.push(s.stats);
      for (const key of ['lossD', 'lossG', 'dReal', 'dFake'] as const) series[key].points.push({ x: s.step, y: s.stats[key] });
      r.moment = { step: s.step, epochsDone: s.epoch - 1, totals: { ...s.totals } };
      drawCharts();
      const imagesPerSecond = (s.totals.steps * options.batchSize) / s.totals.seconds;
      setStatus(status, `epoch ${s.epoch}/${options.epochs}, batch ${s.batchIndex + 1}/${s.batchesPerEpoch}, step ${s.step} | ` +
        `D ${s.stats.lossD.toFixed(3)} G ${s.stats.lossG.toFixed(3)} D(x) ${s.stats.dReal.toFixed(2)} D(G(z)) ${s.stats.dFake.toFixed(2)} | ` +
        `${imagesPerSecond.toFixed(1)} images/s`);
      status.dataset.imagesPerSecond = imagesPerSecond.toFixed(2);
      if (!paused) return;
      // Saving is allowed only here, between steps, where the weights, batcher and moment agree.
      save.disabled = false;
      setStatus(status, `${status.textContent} | paused`);
      while (paused) await new Promise<void>((wake) => (resume = wake));
      save.disabled = true;
    };
    try {
      const outcome = await runTraining({
        trainer, batcher, imageShape: [1, data.height, data.width],
        schedule: { epochs: options.epochs, decayEpochs: 0 },
        stop: r.abort.signal,
        callbacks: {
          onStep,
          onEpochEnd: (e) => drawFixedGrid(r, `after epoch ${e.epoch} (step ${e.step}, ${e.imagesPerSecond.toFixed(1)} images/s)`),
          onCheckpoint: (m) => {
            r.moment = { step: m.step, epochsDone: m.epochsDone, totals: { ...m.totals } };
          },
        },
      });
      r.done = true;
      setStatus(status, `${outcome.stopped ? 'stopped' : 'done'} after ${outcome.steps} steps (${outcome.epochsDone} epochs); save a checkpoint to continue with npx atelier train --resume FILE --out runs/NAME (in a clone: npm run train -- …)`);
    } catch (e) {
      error = errorText(e);
      setStatus(status, `error: ${error}`, true);
    }
  }

  function disposeRun(): void {
    if (run && run.gridInput !== run.fixedZ) run.gridInput.dispose();
    run?.fixedZ.dispose();
    run?.trainer.dispose();
    run = undefined;
  }

  start.addEventListener('click', () => {
    if (start.textContent === 'Stop') {
      run?.abort.abort();
      paused = false;
      resume?.();
      return;
    }
    setRunning(true);
    running = train().catch((e) => {
      error = errorText(e);
      setStatus(status, `error: ${error}`, true);
    }).finally(() => setRunning(false));
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) resume?.();
  });
  save.addEventListener('click', async () => {
    const r = run;
    if (!r) return;
    save.disabled = true;
    try {
      const bytes = await encodeTrainingCheckpoint({ engine, trainer: r.trainer, batcher: r.batcher, config: r.config, fixedZ: r.fixedZ, fixedLabels: r.fixedLabels, ...r.moment });
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const link = Object.assign(document.createElement('a'), { href: url, download: `atelier-${r.config.model}-step${r.moment.step}.safetensors` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setStatus(status, `saved ${link.download} (${(bytes.length / 1e6).toFixed(1)} MB, step ${r.moment.step}): ` +
        `npx atelier generate --checkpoint ${link.download}, or continue with npx atelier train --resume ${link.download} --out runs/NAME (in a clone: npm run generate -- …, npm run train -- …)`);
    } catch (e) {
      setStatus(status, `error: ${errorText(e)}`, true);
    } finally {
      save.disabled = !(paused || r.done);
    }
  });

  return {
    finished: () => running,
    state: () => ({ step: run?.moment.step ?? 0, running: start.textContent === 'Stop', paused, losses: [...losses], error }),
  };
}
