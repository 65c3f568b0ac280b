// The Sample view: a shipped generator (or a dropped file) → a grid for a seed and temperature (and a class when
// the generator is class-conditional), and a latent walk between the z of two seeds (for a conditional
// generator, within the chosen class: every frame gets the same class).
import {
  loadGenerator, sample, drawToCanvas, generatePixels, conditionalInput, tensor, FASHION_MNIST_CLASSES,
  type LoadedGenerator, type Images, type SampleOptions,
} from 'atelier';
import type { Gpu } from './gpu.js';
import { byId, setStatus, errorText, intOf, fillSelect } from './dom.js';
import { latentOf, slerp } from './latent.js';

type Generator = LoadedGenerator;

export interface SampleView {
  /** Resolves once the selected generator is loaded. */
  load(source: string | Uint8Array, name: string): Promise<void>;
  /** Samples the grid (and redraws the walk); resolves with the grid's images, or undefined after an error. */
  run(): Promise<Images | undefined>;
  readonly last: Images | undefined;
  readonly generator: Generator | undefined;
}

const WALK_FRAMES = 8;

export function sampleView(gpu: Gpu, onFirstImage: () => void): SampleView {
  const { engine } = gpu;
  const model = byId<HTMLSelectElement>('s-model');
  const file = byId<HTMLInputElement>('s-file');
  const drop = byId('s-drop');
  const seed = byId<HTMLInputElement>('s-seed');
  const temp = byId<HTMLInputElement>('s-temp');
  const tempOut = byId<HTMLOutputElement>('s-temp-out');
  const count = byId<HTMLInputElement>('s-n');
  const classLabel = byId('s-class-label');
  const classSelect = byId<HTMLSelectElement>('s-class');
  const go = byId<HTMLButtonElement>('s-go');
  const status = byId('s-status');
  const grid = byId<HTMLCanvasElement>('s-grid');
  const walkA = byId<HTMLInputElement>('w-a');
  const walkB = byId<HTMLInputElement>('w-b');
  const walkT = byId<HTMLInputElement>('w-t');
  const walkTOut = byId<HTMLOutputElement>('w-t-out');
  const play = byId<HTMLButtonElement>('w-play');
  const frame = byId<HTMLCanvasElement>('w-frame');
  const strip = byId<HTMLCanvasElement>('w-strip');
  const walkStatus = byId('w-status');

  let generator: Generator | undefined;
  let generatorName = '';
  let last: Images | undefined;
  let first = true;
  // One GPU job at a time: the walk's slider asks often; only its latest request runs.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(job: () => Promise<T>): Promise<T> => {
    const next = queue.then(job, job);
    queue = next.catch(() => undefined);
    return next;
  };

  const temperature = () => Number(temp.value);
  const options = (): SampleOptions => {
    const o: SampleOptions = { n: intOf(count, 1, 256), seed: intOf(seed, 0, 2 ** 32 - 1), temperature: temperature() };
    if (generator?.classes !== undefined) o.class = Number(classSelect.value);
    return o;
  };

  async function load(source: string | Uint8Array, name: string): Promise<void> {
    setStatus(status, `loading ${name}…`);
    const started = performance.now();
    const loaded = (await serial(() => loadGenerator(engine, source, { name }))) as Generator;
    generator?.G.dispose();
    generator = loaded;
    generatorName = name;
    // Start from the file's own sampling temperature (1 for most files); the slider can move it.
    temp.value = String(loaded.temperature);
    tempOut.value = Number(temp.value).toFixed(2);
    const classes = loaded.classes;
    classLabel.hidden = classes === undefined;
    if (classes !== undefined) {
      fillSelect(classSelect, [...Array(classes).keys()].map((i) => ({ value: String(i), label: classes === 10 ? `${i} ${FASHION_MNIST_CLASSES[i]}` : String(i) })));
    }
    setStatus(status, `${name}: ${loaded.spec.preset}, z of ${loaded.latentDim}, ${loaded.weights} weights${classes ? `, ${classes} classes` : ''}${loaded.temperature !== 1 ? `, sampled at temperature ${loaded.temperature}` : ''} (loaded in ${(performance.now() - started).toFixed(0)} ms)`);
  }

  async function run(): Promise<Images | undefined> {
    if (!generator) return undefined;
    const o = options();
    try {
      const started = performance.now();
      const images = await serial(() => sample(engine, generator!, o));
      const ms = performance.now() - started;
      drawToCanvas(grid, images, { cols: Math.ceil(Math.sqrt(images.count)) });
      last = images;
      if (first) {
        first = false;
        onFirstImage();
      }
      setStatus(status, `${generatorName}: ${images.count} images, seed ${o.seed}, temperature ${o.temperature?.toFixed(2)} in ${ms.toFixed(0)} ms`);
      return images;
    } catch (e) {
      setStatus(status, `error: ${errorText(e)}`, true);
      return undefined;
    }
  }

  // The walk: z of seed A and seed B (at the grid's temperature), slerp between them.
  let ends: { key: string; a: Float32Array; b: Float32Array } | undefined;
  async function walkEnds(g: Generator) {
    const key = `${generatorName}|${walkA.value}|${walkB.value}|${temp.value}`;
    if (ends?.key !== key) {
      const a = await latentOf(engine, g.latentDim, intOf(walkA, 0, 2 ** 32 - 1), temperature());
      const b = await latentOf(engine, g.latentDim, intOf(walkB, 0, 2 ** 32 - 1), temperature());
      ends = { key, a, b };
    }
    return ends;
  }
  async function render(ts: number[], canvas: HTMLCanvasElement): Promise<void> {
    const g = generator;
    if (!g) return;
    await serial(async () => {
      const { a, b } = await walkEnds(g);
      const z = new Float32Array(ts.length * g.latentDim);
      ts.forEach((t, i) => z.set(slerp(a, b, t), i * g.latentDim));
      const zt = tensor(engine, z, [ts.length, g.latentDim, 1, 1]);
      // A conditional G reads [z ; onehot(y)]: both ends, and every frame between, get the chosen class.
      const input = g.classes !== undefined ? conditionalInput(engine, zt, new Int32Array(ts.length).fill(walkClass(g)), g.classes) : zt;
      try {
        const { pixels, count: n, height, width } = await generatePixels(engine, g.G, input);
        const data = pixels.map((v) => (v + 1) / 2);
        drawToCanvas(canvas, { data, count: n, channels: 1, height, width }, { cols: n, pad: canvas === frame ? 0 : 2 });
      } finally {
        if (input !== zt) input.dispose();
        zt.dispose();
      }
    });
  }
  const walkClass = (g: Generator) => Math.min(g.classes! - 1, Math.max(0, Math.round(Number(classSelect.value)) || 0));
  const className = (g: Generator) => {
    const c = walkClass(g);
    return g.classes === 10 ? `${c} ${FASHION_MNIST_CLASSES[c]}` : String(c);
  };
  let pendingT: number | undefined;
  const showT = async () => {
    walkTOut.value = Number(walkT.value).toFixed(2);
    if (pendingT !== undefined) {
      pendingT = Number(walkT.value);
      return;
    }
    pendingT = Number(walkT.value);
    while (pendingT !== undefined) {
      const t: number = pendingT;
      await render([t], frame).catch((e) => setStatus(walkStatus, `error: ${errorText(e)}`, true));
      if (pendingT === t) pendingT = undefined;
    }
  };
  const showStrip = () => render([...Array(WALK_FRAMES).keys()].map((i) => i / (WALK_FRAMES - 1)), strip)
    .then(() => setStatus(walkStatus, `slerp between the z of seeds ${walkA.value} and ${walkB.value}, ${WALK_FRAMES} steps` +
      (generator?.classes !== undefined ? `, class ${className(generator)} at both ends` : '')))
    .catch((e) => setStatus(walkStatus, `error: ${errorText(e)}`, true));
  let playing = false;
  play.addEventListener('click', async () => {
    playing = !playing;
    play.textContent = playing ? 'Stop' : 'Play';
    let direction = 1;
    while (playing) {
      let t = Number(walkT.value) + 0.04 * direction;
      if (t >= 1 || t <= 0) direction = -direction;
      t = Math.min(1, Math.max(0, t));
      walkT.value = String(t);
      walkTOut.value = t.toFixed(2);
      await render([t], frame).catch(() => (playing = false));
      await new Promise((r) => setTimeout(r, 30));
    }
  });

  const refresh = async (): Promise<Images | undefined> => {
    const images = await run();
    await showStrip();
    await showT();
    return images;
  };
  temp.addEventListener('input', () => (tempOut.value = Number(temp.value).toFixed(2)));
  for (const input of [seed, temp, count, classSelect]) input.addEventListener('change', () => void run());
  for (const input of [walkA, walkB, temp, classSelect]) input.addEventListener('change', () => void showStrip().then(showT));
  walkT.addEventListener('input', () => void showT());
  go.addEventListener('click', () => void refresh());
  model.addEventListener('change', async () => {
    if (!model.value) return;
    try {
      await load(`/models/${model.value}`, model.value);
      await refresh();
    } catch (e) {
      setStatus(status, `error: ${errorText(e)}`, true);
    }
  });
  const loadFile = async (f: File) => {
    try {
      await load(new Uint8Array(await f.arrayBuffer()), f.name);
      // The list names what is loaded: the dropped file (value '') until a shipped generator is picked again.
      const dropped = [...model.options].find((o) => o.value === '') ?? model.appendChild(Object.assign(document.createElement('option'), { value: '' }));
      dropped.textContent = `${f.name} (dropped file)`;
      model.value = '';
      await refresh();
    } catch (e) {
      setStatus(status, `error: ${errorText(e)}`, true);
    }
  };
  file.addEventListener('change', () => file.files?.[0] && void loadFile(file.files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void loadFile(f);
  });

  return {
    load,
    run: refresh,
    get last() {
      return last;
    },
    get generator() {
      return generator;
    },
  };
}

/** Fills the model list from the server and loads the first (the reference generator when it is there). */
export async function listModels(select: HTMLSelectElement): Promise<string[]> {
  const response = await fetch('/api/models');
  const models = (await response.json()) as { name: string; bytes: number }[];
  const names = models.map((m) => m.name).sort((a, b) => Number(b === 'dcgan-fashion-mnist.safetensors') - Number(a === 'dcgan-fashion-mnist.safetensors'));
  fillSelect(select, names.map((n) => ({ value: n, label: `${n} (${(models.find((m) => m.name === n)!.bytes / 1e6).toFixed(1)} MB)` })));
  return names;
}
