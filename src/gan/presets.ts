// The models of the projects atelier is measured against, as specs (see spec.ts), each with the training recipe
// of its source as defaults that `npm run train -- --model NAME` applies unless a flag says otherwise.
// Browser-safe.
import { SPEC_FORMAT, generatorShapes, discriminatorShapes, parameterCount, bufferCount, type GanSpec, type LayerSpec } from './spec.js';

export const DEFAULT_WIDTH = 64;
/**
 * `--conditional`: Fashion-MNIST's 10 classes, and, for a G without batchnorm (which gets conditional batchnorm
 * instead, spec.ts conditionalSpec), a class embedding of 50, the size of the Keras cGAN references for
 * (Fashion-)MNIST (Embedding(n_classes, 50)).
 */
export const CONDITIONAL = { classes: 10, embedding: 50 } as const;
export const DEFAULT_PRESET = 'dcgan';

/** Training settings a preset sets unless their flag is given. */
export interface PresetDefaults {
  latentDim: number;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  batchSize: number;
  epochs: number;
  /** D's target for real images (with 'real-1' labels; one-sided smoothing below 1). */
  realLabel: number;
  labelNoise: number;
  classes: string[];
  limit?: number;
}

export interface DcganSizes {
  latentDim: number;
  ngf: number;
  ndf: number;
  spectralNorm: boolean;
  /** Group size of a minibatch standard-deviation layer before D's last conv (ProGAN/StyleGAN); 0 or absent: none. */
  minibatchStd?: number;
  /** 3×3 conv + batchnorm + ReLU blocks at G's 14×14, before its last transposed conv (`--extra-layers-g`); 0 or absent: none. */
  extraLayersG?: number;
  /** 3×3 conv + batchnorm + LeakyReLU blocks at D's 14×14, after its first conv (`--extra-layers-d`); 0 or absent: none. */
  extraLayersD?: number;
}

export interface Preset {
  name: string;
  /** Where the model comes from, one line. */
  source: string;
  defaults: PresetDefaults;
  /** The spec for a latent size (and, for dcgan alone, the widths and spectral norm of --ngf/--ndf/--spectral-norm). */
  spec(sizes: DcganSizes): GanSpec;
}

const bn2d = (channels: number, keras = false): LayerSpec => ({ type: 'batchNorm2d', channels, momentum: keras ? 0.01 : 0.1, eps: keras ? 1e-3 : 1e-5 });
const bn1d = (features: number): LayerSpec => ({ type: 'batchNorm1d', features, momentum: 0.01, eps: 1e-3 });
const convT = (inC: number, out: number, kernel: number, stride: number, padding: number | 'same', bias: boolean): LayerSpec => ({ type: 'convTranspose2d', in: inC, out, kernel, stride, padding, bias });
const conv = (inC: number, out: number, kernel: number, stride: number, padding: number | 'same', bias: boolean, spectralNorm = false): LayerSpec =>
  spectralNorm ? { type: 'conv2d', in: inC, out, kernel, stride, padding, bias, spectralNorm } : { type: 'conv2d', in: inC, out, kernel, stride, padding, bias };
const linear = (inF: number, out: number, bias = true): LayerSpec => ({ type: 'linear', in: inF, out, bias });
const leaky = (slope = 0.2): LayerSpec => ({ type: 'leakyRelu', slope });
const relu: LayerSpec = { type: 'relu' };
const flatten: LayerSpec = { type: 'flatten' };
const dropout = (p: number): LayerSpec => ({ type: 'dropout', p });
const IMAGE = { channels: 1, height: 28, width: 28 };
const PYTORCH_TRAINING = { labels: 'real-1', discriminatorInGeneratorStep: 'train', adamEps: 1e-8 } as const;
const KERAS_EPS = 1e-7;

/**
 * The reference DCGAN (models.ts's layer list): PyTorch's DCGAN example for 28×28, width ngf/ndf next to the
 * image. `extraLayersG`/`extraLayersD` add the WGAN reference code's "extra layers" (Arjovsky et al. 2017,
 * n_extra_layers): 3×3 stride-1 convs that keep the size, each with batchnorm and the net's activation, at the
 * resolution next to the image's (14×14, ngf/ndf channels).
 */
export function dcganSpec({ latentDim, ngf, ndf, spectralNorm, minibatchStd = 0, extraLayersG = 0, extraLayersD = 0 }: DcganSizes): GanSpec {
  const repeat = (n: number, block: LayerSpec[]): LayerSpec[] => Array.from({ length: n }, () => block).flat();
  const generator: LayerSpec[] = [
    convT(latentDim, 2 * ngf, 7, 1, 0, false), bn2d(2 * ngf), relu,
    convT(2 * ngf, ngf, 4, 2, 1, false), bn2d(ngf), relu,
    ...repeat(extraLayersG, [conv(ngf, ngf, 3, 1, 1, false), bn2d(ngf), relu]),
    convT(ngf, 1, 4, 2, 1, false), { type: 'tanh' },
  ];
  // Miyato et al.'s setting: every conv spectrally normalised and no batchnorm (σ would be undone by it).
  // The minibatch-std map goes before the last conv, as ProGAN puts it before D's last block.
  const std: LayerSpec[] = minibatchStd ? [{ type: 'minibatchStd', groupSize: minibatchStd }] : [];
  const last = 2 * ndf + std.length;
  const discriminator: LayerSpec[] = spectralNorm
    ? [conv(1, ndf, 4, 2, 1, false, true), leaky(), ...repeat(extraLayersD, [conv(ndf, ndf, 3, 1, 1, false, true), leaky()]),
      conv(ndf, 2 * ndf, 4, 2, 1, false, true), leaky(), ...std, conv(last, 1, 7, 1, 0, false, true), flatten]
    : [conv(1, ndf, 4, 2, 1, false), leaky(), ...repeat(extraLayersD, [conv(ndf, ndf, 3, 1, 1, false), bn2d(ndf), leaky()]),
      conv(ndf, 2 * ndf, 4, 2, 1, false), bn2d(2 * ndf), leaky(), ...std, conv(last, 1, 7, 1, 0, false), flatten];
  return { format: SPEC_FORMAT, preset: 'dcgan', latentDim, image: { ...IMAGE, range: '[-1,1]' }, generator, discriminator, init: 'dcgan', training: { ...PYTORCH_TRAINING } };
}

/** The Keras project's upsampling GAN: G 2,155,137 and D 1,113,345 parameters at latent 128. */
function kerasUpsampleSpec({ latentDim }: DcganSizes): GanSpec {
  const same5 = (inC: number, out: number) => conv(inC, out, 5, 1, 'same', true);
  const same4 = (inC: number, out: number) => conv(inC, out, 4, 1, 'same', true);
  const up: LayerSpec = { type: 'upsample', scale: 2 };
  const generator: LayerSpec[] = [
    flatten, linear(latentDim, 128 * 7 * 7), leaky(), { type: 'reshape', shape: [128, 7, 7] },
    up, same5(128, 128), leaky(), up, same5(128, 128), leaky(),
    same4(128, 128), leaky(), same4(128, 128), leaky(), same4(128, 1), { type: 'sigmoid' },
  ];
  const block = (inC: number, out: number): LayerSpec[] => [conv(inC, out, 5, 1, 0, true), leaky(), dropout(0.4)];
  const discriminator: LayerSpec[] = [...block(1, 32), ...block(32, 64), ...block(64, 128), ...block(128, 256), flatten, dropout(0.4), linear(12 * 12 * 256, 1)];
  return {
    format: SPEC_FORMAT, preset: 'keras-upsample', latentDim, image: { ...IMAGE, range: '[0,1]' }, generator, discriminator, init: 'glorot',
    training: { labels: 'real-0', discriminatorInGeneratorStep: 'eval', adamEps: KERAS_EPS },
  };
}

/** The report's GAN with a fully connected D (widths chosen here: the report gives none). */
function mlpDiscriminatorSpec({ latentDim }: DcganSizes): GanSpec {
  const generator: LayerSpec[] = [
    flatten, linear(latentDim, 128 * 7 * 7), relu, { type: 'reshape', shape: [128, 7, 7] },
    convT(128, 64, 4, 2, 1, true), relu, convT(64, 32, 4, 2, 1, true), relu, convT(32, 16, 3, 1, 1, true), relu,
    conv(16, 1, 3, 1, 1, true), { type: 'tanh' },
  ];
  const discriminator: LayerSpec[] = [flatten, linear(784, 512), relu, linear(512, 256), relu, linear(256, 1)];
  return { format: SPEC_FORMAT, preset: 'mlp-discriminator', latentDim, image: { ...IMAGE, range: '[-1,1]' }, generator, discriminator, init: 'default', training: { ...PYTORCH_TRAINING } };
}

/**
 * The "Fashion GANerator" GANs: D is Conv 3×3 stride 2 'same' ×3 (each LeakyReLU(0.2), Dropout 0.3) → Flatten
 * (4·4·F) → Dense(1), with filters `d`; G is z (71) → Dense(7·7·C, no bias) → batchnorm → LeakyReLU → reshape
 * C×7×7 → ConvT 4×4 'same' 70 → batchnorm → LeakyReLU → ConvT 4×4 stride 2 26 → batchnorm → LeakyReLU → ConvT
 * 4×4 stride 2 1 (bias) → tanh; Keras-initialised, Keras's batchnorm (momentum 0.99, ε 1e-3). The project states
 * only counts: with C = 16 and a latent size of 71 (found by search; the project gives neither) GAN2's G has
 * exactly 106,641 parameters, 1,760 of them running statistics of 784 + 70 + 26 = 880 channels; GAN1's C = 39
 * makes GAN2 41.08 % of GAN1 (330,399 in all; the stated ratio gives about 331,049).
 */
function ganeratorSpec(name: string, d: [number, number, number], g: { channels: number; convs: number[] }) {
  return ({ latentDim }: DcganSizes): GanSpec => {
    const down = (inC: number, out: number): LayerSpec[] => [conv(inC, out, 3, 2, 'same', true), leaky(), dropout(0.3)];
    const discriminator: LayerSpec[] = [...down(1, d[0]), ...down(d[0], d[1]), ...down(d[1], d[2]), flatten, linear(4 * 4 * d[2], 1)];
    const c = g.channels;
    const [c1, c2] = g.convs;
    const generator: LayerSpec[] = [
      flatten, linear(latentDim, 7 * 7 * c, false), bn1d(7 * 7 * c), leaky(), { type: 'reshape', shape: [c, 7, 7] },
      convT(c, c1, 4, 1, 'same', false), bn2d(c1, true), leaky(),
      convT(c1, c2, 4, 2, 'same', false), bn2d(c2, true), leaky(),
      convT(c2, 1, 4, 2, 'same', true), { type: 'tanh' },
    ];
    return {
      format: SPEC_FORMAT, preset: name, latentDim, image: { ...IMAGE, range: '[-1,1]' }, generator, discriminator, init: 'glorot',
      training: { labels: 'real-1', discriminatorInGeneratorStep: 'train', adamEps: KERAS_EPS },
    };
  };
}

const DCGAN_DEFAULTS: PresetDefaults = { latentDim: 100, lrG: 2e-4, lrD: 2e-4, beta1: 0.5, beta2: 0.999, batchSize: 128, epochs: 20, realLabel: 0.9, labelNoise: 0, classes: [] };
const KERAS_ADAM = { beta1: 0.9, beta2: 0.999 };
const GANERATOR_DEFAULTS: PresetDefaults = { ...DCGAN_DEFAULTS, ...KERAS_ADAM, lrG: 1e-4, lrD: 1e-4, latentDim: 71, realLabel: 1, batchSize: 32, epochs: 50, classes: ['ankle-boot'], limit: 100 };

export const PRESETS: readonly Preset[] = [
  { name: 'dcgan', source: 'the reference DCGAN (Radford et al. 2016; PyTorch DCGAN example sized for 28×28)', defaults: DCGAN_DEFAULTS, spec: dcganSpec },
  {
    name: 'keras-upsample', source: 'the Keras project: Dense → nearest upsampling + Conv \'same\' G (sigmoid), 4-conv D with dropout; inverted, noisy labels',
    defaults: { ...DCGAN_DEFAULTS, ...KERAS_ADAM, latentDim: 128, lrG: 1e-4, lrD: 1e-5, realLabel: 1, labelNoise: 0.15 }, spec: kerasUpsampleSpec,
  },
  {
    name: 'mlp-discriminator', source: 'the report\'s GAN with a fully connected discriminator (widths chosen by atelier)',
    defaults: { ...DCGAN_DEFAULTS, lrG: 1e-4, lrD: 1e-4, realLabel: 1, batchSize: 128, epochs: 50 }, spec: mlpDiscriminatorSpec,
  },
  { name: 'ganerator-1', source: 'Fashion GANerator GAN1 (ankle boots): the larger D (64, 64, 128 filters) and G', defaults: GANERATOR_DEFAULTS, spec: ganeratorSpec('ganerator-1', [64, 64, 128], { channels: 39, convs: [70, 26] }) },
  { name: 'ganerator-2', source: 'Fashion GANerator GAN2 (ankle boots): the small D (32, 32, 64 filters) and G', defaults: GANERATOR_DEFAULTS, spec: ganeratorSpec('ganerator-2', [32, 32, 64], { channels: 16, convs: [70, 26] }) },
];

export const PRESET_NAMES = PRESETS.map((p) => p.name);

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}

export interface PresetCounts {
  generator: number;
  /** G's batchnorm running statistics (counted in Keras's totals as non-trainable parameters). */
  generatorBuffers: number;
  discriminator: number;
}

/** Parameter counts of a preset at its default sizes (the widths of --ngf/--ndf at their defaults). */
export function presetCounts(p: Preset, sizes: Partial<DcganSizes> = {}): PresetCounts {
  const spec = p.spec({ latentDim: p.defaults.latentDim, ngf: DEFAULT_WIDTH, ndf: DEFAULT_WIDTH, spectralNorm: false, ...sizes });
  const G = generatorShapes(spec);
  return { generator: parameterCount(G), generatorBuffers: bufferCount(G), discriminator: parameterCount(discriminatorShapes(spec)) };
}
