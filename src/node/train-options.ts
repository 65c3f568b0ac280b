// `npm run train` flags → a validated TrainOptions.
import { DEFAULT_DATA_DIR } from '../data/fashion-mnist.js';
import { DEFAULT_GAN_CONFIG, specOfConfig, type GanConfig } from '../gan/trainer.js';
import { PRESETS, PRESET_NAMES, DEFAULT_PRESET, findPreset, presetCounts } from '../gan/presets.js';
import { GAN_LOSSES, type GanLossName } from '../gan/losses.js';
import { penaltyRefusal } from '../gan/gradient-penalty.js';
import { AUGMENT_POLICIES, type AugmentPolicy } from '../tensor/ops/augment.js';
import { findRecipe, recipeArgs, RECIPE_NAMES, recipeList } from './recipes.js';
import { parse, num, str, list, HelpRequest, UsageError, optionalNum } from './args.js';
import { DEFAULT_CLASSIFIER } from './classifier-file.js';

export interface TrainOptions extends GanConfig {
  epochs: number;
  /** The learning rates fall linearly to zero over the last this many epochs (0: constant). */
  decayEpochs: number;
  batchSize: number;
  classes: string[];
  limit?: number;
  data: string;
  out?: string;
  resume?: string;
  /** Start over in an --out that already holds a run, replacing its checkpoints, samples and metrics. */
  overwrite: boolean;
  /** Also write a sample grid every this many steps (0: only at each epoch's end). */
  sampleEvery: number;
  /** Also append a metrics line every this many steps (0: only per epoch). */
  logEvery: number;
  /** Stop (with a checkpoint) after this many steps in total: for tests and quick looks. */
  maxSteps?: number;
  /** Measure FID and class KL every this many epochs (0: never), on evalN generated images. */
  evalEvery: number;
  evalN: number;
  classifier: string;
  /** The flags given on the command line or set by --recipe (resuming refuses ones that contradict the checkpoint). */
  given: string[];
  /** The --recipe the flags came from (not stored in checkpoints: every flag it set is, in its own field). */
  recipe?: string;
  augment: AugmentPolicy[];
  minibatchStd: number;
  extraLayersG: number;
  extraLayersD: number;
  /** λ of the mode-seeking term in G's loss (Mao et al. 2019); 0: none. */
  modeSeeking: number;
  /** γ of the R1 (real images) and R2 (G's images) gradient penalties on D; 0: none. */
  r1: number;
  r2: number;
  /** Lazy regularization: the penalties every K-th step, weighted K·γ (1: every step). */
  dRegEvery: number;
}

export const TRAIN_USAGE = `usage: npm run train -- [options]
  --recipe NAME       a named set of the flags below (explicit flags win); --recipe list prints them
  --model NAME        the model preset (default dcgan); --model list prints them. A preset's recipe sets the
                      defaults below (rates, betas, batch, epochs, labels, data) unless the flag is given
  --label-noise X     move each of D's targets by X·U(0, 1) toward the other class (default 0; keras-upsample 0.15)
  --epochs N          epochs to train (default 20)
  --batch-size N      images per step (default 128)
  --decay-epochs N    the learning rates fall linearly to zero over the last N of the epochs (default 0: constant)
  --lr-g X, --lr-d X  Adam learning rates of G and D (default 2e-4; TTUR: e.g. --lr-d 4e-4 --lr-g 1e-4)
  --loss NAME         adversarial loss: bce (default, DCGAN's), hinge, or rpgan (the relativistic pairing loss)
  --ema DECAY         sample from a moving average of G's weights, e.g. 0.999 (default 0: off)
  --beta1 X --beta2 X Adam betas (default 0.5, 0.999)
  --latent-dim N      size of z (default 100)
  --ngf N, --ndf N    channels of G's and D's layers next to the image, as in PyTorch's DCGAN (default 64;
                      the inner layers have twice as many)
  --spectral-norm     spectrally normalise D's convs and drop its batchnorm (Miyato et al. 2018)
  --conditional       class-conditional: conditional batchnorm in G (a class embedding of 50 concatenated to z
                      in presets without batchnorm), a projection discriminator (Miyato & Koyama 2018); sample
                      grids get one row per class
  --augment POLICIES  DiffAugment (Zhao et al. 2020) of every image D sees, real and fake, in both steps: a comma
                      list of translation (shifts up to 1/8 of the size, zero fill), cutout (a zeroed square of half
                      the size); applied in that order (default none)
  --minibatch-std G   a minibatch standard-deviation map (Karras et al. 2018) before D's last conv, over groups of G
                      images as StyleGAN (G ≥ --batch-size: the whole batch, as ProGAN); dcgan alone (default 0: none)
  --extra-layers-g N  N blocks of 3×3 conv + batchnorm + ReLU at G's 14×14, before its last layer; dcgan alone
                      (the WGAN reference code's n_extra_layers) (default 0)
  --extra-layers-d N  N blocks of 3×3 conv + batchnorm + LeakyReLU at D's 14×14, after its first conv; dcgan
                      alone (default 0)
  --mode-seeking L    add L / (d_I / d_z + 1e-5) to G's loss, over pairs of G's images (one class per pair when
                      --conditional): mode seeking (Mao et al. 2019, MSGAN; their λ is 1) (default 0: none)
  --r1 G, --r2 G      add the gradient penalty G/2 · E‖∇ₓD(x)‖² on real images (R1) or on G's (R2) to D's loss
                      (Mescheder et al. 2018; R3GAN pairs both with --loss rpgan, e.g. 0.05) (default 0: none)
  --d-reg-every K     lazy regularization (StyleGAN2): the penalties on every K-th D step only, weighted K·γ
                      (default 1: every step)
  --real-label X      target for real images, one-sided label smoothing (default 0.9)
  --seed N            seeds weights, z, shuffling (default 0)
  --class NAME|INDEX  train on one class (repeatable), e.g. --class ankle-boot
  --limit N           use only the first N selected images
  --data DIR          folder with the four IDX files (default ${DEFAULT_DATA_DIR})
  --out DIR           output folder (default runs/<timestamp>)
  --resume DIR|FILE   continue from a run folder or a checkpoint file
  --overwrite         start over in an --out that already holds a run (replaces its checkpoints, samples, metrics)
  --sample-every N    also write a sample grid every N steps
  --log-every N       also write a metrics line every N steps
  --max-steps N       stop after N steps in total (writes a checkpoint)
  --eval-every K      every K epochs add FID, class KL and Inception Score to metrics.jsonl (default 0: never)
  --eval-n N          generated images per such evaluation (default 2000; FID depends on N)
  --classifier FILE   feature classifier for --eval-every (default ${DEFAULT_CLASSIFIER})`;

/** `--recipe`'s flags are added to argv (those not given explicitly) and parsed with it: `expanded` marks that pass. */
export function parseTrainOptions(argv: string[], expanded = false): TrainOptions {
  const v = parse(argv, {
    epochs: { type: 'string' }, 'decay-epochs': { type: 'string' }, 'batch-size': { type: 'string' }, 'lr-g': { type: 'string' }, 'lr-d': { type: 'string' },
    beta1: { type: 'string' }, beta2: { type: 'string' }, 'latent-dim': { type: 'string' }, ngf: { type: 'string' }, ndf: { type: 'string' }, 'real-label': { type: 'string' },
    seed: { type: 'string' }, class: { type: 'string', multiple: true }, limit: { type: 'string' }, data: { type: 'string' },
    out: { type: 'string' }, resume: { type: 'string' }, 'sample-every': { type: 'string' }, 'log-every': { type: 'string' },
    'max-steps': { type: 'string' }, loss: { type: 'string' }, ema: { type: 'string' }, 'eval-every': { type: 'string' }, 'eval-n': { type: 'string' },
    classifier: { type: 'string' }, model: { type: 'string' }, recipe: { type: 'string' }, augment: { type: 'string', multiple: true }, 'minibatch-std': { type: 'string' }, 'extra-layers-g': { type: 'string' }, 'extra-layers-d': { type: 'string' }, 'mode-seeking': { type: 'string' }, r1: { type: 'string' }, r2: { type: 'string' }, 'd-reg-every': { type: 'string' }, 'label-noise': { type: 'string' }, 'spectral-norm': { type: 'boolean' }, conditional: { type: 'boolean' }, overwrite: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, TRAIN_USAGE);
  if (v.help) throw new HelpRequest(TRAIN_USAGE);
  const recipeName = str(v, 'recipe');
  if (recipeName !== undefined && !expanded) {
    if (recipeName === 'list') throw new HelpRequest(recipeList());
    const recipe = findRecipe(recipeName);
    if (!recipe) throw new UsageError(`--recipe ${recipeName}: unknown recipe; use one of ${RECIPE_NAMES.join(', ')} (--recipe list shows them)`);
    return parseTrainOptions([...recipeArgs(recipe, new Set(Object.keys(v).filter((k) => v[k] !== undefined))), ...argv], true);
  }
  const model = str(v, 'model') ?? DEFAULT_PRESET;
  if (model === 'list') throw new HelpRequest(presetList());
  const preset = findPreset(model);
  if (!preset) throw new UsageError(`--model ${model}: unknown model; use one of ${PRESET_NAMES.join(', ')} (--model list shows them)`);
  if (model !== 'dcgan') {
    // The reference's own values pass (checkpoints store every field).
    const reference: Record<string, unknown> = { ngf: String(DEFAULT_GAN_CONFIG.ngf), ndf: String(DEFAULT_GAN_CONFIG.ndf), 'spectral-norm': false, 'minibatch-std': '0', 'extra-layers-g': '0', 'extra-layers-d': '0' };
    const only = Object.keys(reference).find((f) => v[f] !== undefined && v[f] !== reference[f]);
    const from = recipeName && findRecipe(recipeName)?.flags[only ?? ''] !== undefined ? `, set by --recipe ${recipeName}` : '';
    if (only) throw new UsageError(`--${only} applies to --model dcgan alone; ${model}'s layers are fixed by its source (drop --${only}${from})`);
  }
  const p = preset.defaults;
  const d = { ...DEFAULT_GAN_CONFIG, ...p };
  const limit = optionalNum(v, 'limit', { int: true, min: 1 });
  const loss = (str(v, 'loss') ?? d.loss) as GanLossName;
  if (!GAN_LOSSES.includes(loss)) throw new UsageError(`--loss ${loss}: unknown loss; use one of ${GAN_LOSSES.join(', ')}`);
  const maxSteps = optionalNum(v, 'max-steps', { int: true, min: 1 });
  const epochs = num(v, 'epochs', p.epochs, { int: true, min: 1 });
  const decayEpochs = num(v, 'decay-epochs', 0, { int: true, min: 0 });
  if (decayEpochs > epochs) throw new UsageError(`--decay-epochs ${decayEpochs} is more than --epochs ${epochs}; decay over at most all of the epochs`);
  const batchSize = num(v, 'batch-size', p.batchSize, { int: true, min: 1, max: 4096 });
  const minibatchStd = num(v, 'minibatch-std', 0, { int: true, min: 0, max: 4096 });
  const modeSeeking = num(v, 'mode-seeking', 0, { min: 0, max: 100 });
  const r1 = num(v, 'r1', 0, { min: 0, max: 1000 });
  const r2 = num(v, 'r2', 0, { min: 0, max: 1000 });
  const dRegEvery = num(v, 'd-reg-every', 1, { int: true, min: 1, max: 1000 });
  const options: TrainOptions = {
    epochs,
    decayEpochs,
    batchSize,
    lrG: num(v, 'lr-g', d.lrG, { minExclusive: 0, max: 1 }),
    lrD: num(v, 'lr-d', d.lrD, { minExclusive: 0, max: 1 }),
    beta1: num(v, 'beta1', d.beta1, { min: 0, maxExclusive: 1 }),
    beta2: num(v, 'beta2', d.beta2, { min: 0, maxExclusive: 1 }),
    latentDim: num(v, 'latent-dim', d.latentDim, { int: true, min: 1, max: 4096 }),
    ngf: num(v, 'ngf', d.ngf, { int: true, min: 1, max: 1024 }),
    ndf: num(v, 'ndf', d.ndf, { int: true, min: 1, max: 1024 }),
    spectralNorm: Boolean(v['spectral-norm']),
    realLabel: num(v, 'real-label', d.realLabel, { minExclusive: 0, max: 1 }),
    loss,
    ema: num(v, 'ema', d.ema, { min: 0, maxExclusive: 1 }),
    seed: num(v, 'seed', d.seed, { int: true, min: 0, max: 2 ** 32 - 1 }),
    classes: v.class === undefined ? [...p.classes] : list(v, 'class'),
    limit: v.limit === undefined && v.class === undefined ? p.limit : limit,
    model,
    labelNoise: num(v, 'label-noise', p.labelNoise, { min: 0, maxExclusive: 0.5 }),
    conditional: Boolean(v.conditional),
    data: str(v, 'data') ?? DEFAULT_DATA_DIR,
    out: str(v, 'out'),
    resume: str(v, 'resume'),
    overwrite: Boolean(v.overwrite),
    sampleEvery: num(v, 'sample-every', 0, { int: true, min: 0 }),
    logEvery: num(v, 'log-every', 0, { int: true, min: 0 }),
    maxSteps,
    evalEvery: num(v, 'eval-every', 0, { int: true, min: 0 }),
    evalN: num(v, 'eval-n', 2000, { int: true, min: 2, max: 10000 }),
    classifier: str(v, 'classifier') ?? DEFAULT_CLASSIFIER,
    given: Object.keys(v).filter((k) => v[k] !== undefined),
    recipe: recipeName,
    augment: parseAugment(list(v, 'augment')),
    minibatchStd,
    extraLayersG: num(v, 'extra-layers-g', 0, { int: true, min: 0, max: 8 }),
    extraLayersD: num(v, 'extra-layers-d', 0, { int: true, min: 0, max: 8 }),
    modeSeeking,
    r1,
    r2,
    dRegEvery,
  };
  if (options.conditional) {
    try {
      specOfConfig(options);
    } catch (e) {
      throw new UsageError(`--conditional with --model ${model}: ${(e as Error).message.replace(/^[^:]*: /, '')}; drop --conditional or pick another --model`);
    }
  }
  const refusal = r1 || r2 ? penaltyRefusal(specOfConfig(options).discriminator) : null;
  if (refusal) {
    const other = options.spectralNorm ? 'drop --spectral-norm' : `pick a --model without dropout in D (not ${model})`;
    throw new UsageError(`--${r1 ? 'r1' : 'r2'}: ${refusal}; ${other}, or drop the penalty`);
  }
  return options;
}

/**
 * Refuses a --batch-size that --minibatch-std's groups do not divide, or one too small for --mode-seeking's
 * pairs (checked by train() on the options it runs with, resumed ones included, not per flag: a stored group
 * size is valid with its own run's batch size).
 */
export function refuseUngroupedBatch({ minibatchStd, batchSize, modeSeeking = 0 }: Pick<TrainOptions, 'minibatchStd' | 'batchSize'> & { modeSeeking?: number }): void {
  if (minibatchStd && batchSize % Math.min(minibatchStd, batchSize) !== 0) {
    throw new UsageError(`--minibatch-std ${minibatchStd} needs a --batch-size that is a multiple of ${minibatchStd} (or at most ${minibatchStd}), not ${batchSize}`);
  }
  if (modeSeeking && batchSize < 2) throw new UsageError(`--mode-seeking pairs G's images, so it needs a --batch-size of at least 2, not ${batchSize}`);
}

/** Refuses --d-reg-every above 1 without --r1 or --r2 (checked, like refuseUngroupedBatch, on the options a run trains with). */
export function refuseLazyWithoutPenalty({ dRegEvery, r1, r2 }: Pick<TrainOptions, 'dRegEvery' | 'r1' | 'r2'>): void {
  if (dRegEvery > 1 && !r1 && !r2) throw new UsageError(`--d-reg-every ${dRegEvery}: there is no penalty to make lazy; add --r1 and/or --r2, or drop --d-reg-every`);
}

/** `--model list`: each preset with its G and D parameter counts and its source. */
export function presetList(): string {
  const rows = PRESETS.map((p) => {
    const c = presetCounts(p);
    const g = c.generator.toLocaleString('en-US') + (c.generatorBuffers ? ` (+${c.generatorBuffers.toLocaleString('en-US')} running statistics)` : '');
    return `  ${p.name.padEnd(18)} G ${g}, D ${c.discriminator.toLocaleString('en-US')}\n  ${''.padEnd(18)} ${p.source}`;
  });
  return `model presets (npm run train -- --model NAME):\n${rows.join('\n')}`;
}

/** --augment's comma lists (repeatable) as policies in the order they are applied; throws UsageError naming a bad one. */
function parseAugment(values: string[]): AugmentPolicy[] {
  const named = values.flatMap((v) => v.split(',')).map((name) => name.trim());
  for (const name of named) {
    if (!(AUGMENT_POLICIES as readonly string[]).includes(name)) {
      throw new UsageError(`--augment ${values.join(',')}: unknown policy ${JSON.stringify(name)}; use a comma list of ${AUGMENT_POLICIES.join(', ')} (DiffAugment's names; color is not implemented)`);
    }
  }
  return AUGMENT_POLICIES.filter((p) => named.includes(p));
}
