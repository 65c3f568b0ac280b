// The studio page: three views (Sample, Train in the tab, Watch a run) on one GPUDevice. Opens the device,
// loads the reference generator and draws a first grid; window.studio is the handle the browser tests use.
import { openGpu, type Gpu } from './gpu.js';
import { byId, setStatus, errorText } from './dom.js';
import { sampleView, listModels, type SampleView } from './sample-view.js';
import { trainView, type TrainView } from './train-view.js';
import { runsView, type RunsView } from './runs-view.js';

export interface Studio {
  /** Resolves when the page is set up and the first grid is drawn (or the GPU is missing: then `gpuError`). */
  ready: Promise<void>;
  gpu?: Gpu;
  gpuError?: string;
  sample?: SampleView;
  train?: TrainView;
  runs?: RunsView;
  /** ms since navigation start: first grid on screen. */
  timings: { firstImage?: number; gpuReady?: number };
}

const studio: Studio = { ready: Promise.resolve(), timings: {} };
(window as unknown as { studio: Studio }).studio = studio;

for (const tab of document.querySelectorAll<HTMLButtonElement>('nav button')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll<HTMLButtonElement>('nav button')) other.classList.toggle('active', other === tab);
    for (const view of document.querySelectorAll<HTMLElement>('.view')) view.hidden = view.id !== `view-${tab.dataset.view}`;
  });
}

async function setUp(): Promise<void> {
  studio.runs = runsView();
  let gpu: Gpu;
  try {
    gpu = await openGpu();
  } catch (e) {
    studio.gpuError = errorText(e);
    const banner = byId('no-gpu');
    banner.textContent = studio.gpuError;
    banner.hidden = false;
    for (const button of document.querySelectorAll<HTMLButtonElement>('#view-sample button, #view-train button')) button.disabled = true;
    return;
  }
  studio.gpu = gpu;
  studio.timings.gpuReady = performance.now();
  byId('adapter').textContent = gpu.adapterName;
  studio.sample = sampleView(gpu, () => (studio.timings.firstImage = performance.now()));
  studio.train = trainView(gpu);
  const select = byId<HTMLSelectElement>('s-model');
  const names = await listModels(select);
  if (names.length === 0) {
    setStatus(byId('s-status'), 'no generator in models/; drop a .safetensors file here');
    return;
  }
  await studio.sample.load(`/models/${names[0]}`, names[0]);
  await studio.sample.run();
}

studio.ready = setUp().catch((e) => setStatus(byId('s-status'), `error: ${errorText(e)}`, true));
