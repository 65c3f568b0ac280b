/// <reference types="@webgpu/types" preserve="true" />
// atelier's browser-safe public API (the package's `atelier` entry): the runtime (engine, arrays), tensors,
// autograd, ops, modules, model files as bytes, and the DCGAN. Nothing reachable from here imports a Node module
// (test/import-graph.test.ts). The Node entry (`atelier/node`: Dawn, files, data on disk) is src/node/index.ts.
// The reference above keeps @webgpu/types in the emitted index.d.ts, so a consumer's TypeScript knows GPUDevice.
export { Engine, type KernelCall, type EngineStats, type Binding } from './runtime/engine.js';
export { Params, grid1d } from './runtime/params.js';
export { DeviceArray, Storage } from './runtime/storage.js';
export { engineFromAdapter, engineFromDevice, requiredLimits, adapterName, ENGINE_LIMITS, missingLimits, DeviceLimitsError } from './runtime/device.js';
export { Tensor, type Shape } from './tensor/tensor.js';
export { backward, noGrad, detach, keep, tidy, record } from './tensor/autograd.js';
export { rngState, setRngState, isGradEnabled } from './tensor/state.js';
export * from './tensor/ops/create.js';
export * from './tensor/ops/elementwise.js';
export * from './tensor/ops/reduce.js';
export * from './tensor/ops/shape.js';
export * from './tensor/ops/matmul.js';
export * from './tensor/ops/conv.js';
export * from './tensor/ops/batchnorm.js';
export * from './tensor/ops/loss.js';
export * from './tensor/ops/misc.js';
export * from './tensor/ops/augment.js';
export * from './tensor/ops/minibatch-std.js';
// Algorithm switches: set `.algorithm = 'naive'` to run the reference kernels instead of the fast ones.
export { matmulConfig } from './kernels/matmul.js';
export { convConfig } from './kernels/conv.js';
export { Module, type StateDictOptions, type LoadStateDictOptions } from './nn/module.js';
export { CheckpointError, type HostTensor, type TensorRecord, type LoadedTensors } from './nn/state-dict.js';
export * from './nn/layers.js';
export * from './nn/spectral-norm.js';
export * from './nn/conditional-batchnorm.js';
export { Embedding, oneHot, oneHotRows } from './nn/embedding.js';
export { Adam, type AdamOptions } from './nn/adam.js';
export * from './gan/models.js';
export * from './gan/trainer.js';
export { modeSeekingLoss, modeSeekingPairs, pairedRows } from './gan/mode-seeking.js';
// Measured sample quality: the feature classifier, FID and friends, and the quality probe for training runs.
export * from './gan/classifier.js';
export * from './gan/features.js';
export * from './gan/quality.js';
export * from './gan/nearest.js';
export * from './gan/evaluate.js';
// A critic trained after the fact against a frozen generator, and rejection sampling with it.
export * from './gan/critic.js';
export * from './gan/rejection.js';
// Model files as bytes (safetensors), generators from bytes or a URL, images for a page.
export {
  decodeSafetensors, encodeSafetensors, SafetensorsError,
  type SafetensorsContents, type TensorEntry, type DType, type TypedArray,
} from './data/safetensors-format.js';
export { loadGenerator, type GeneratorSource, type LoadGeneratorOptions } from './gan/load-generator.js';
export { loadGeneratorState, inspectGeneratorState, type LoadedGenerator, type GeneratorState } from './gan/generator-state.js';
export { sample, samplePixels, type SampleOptions } from './gan/sample.js';
export { inferenceChunk, sampleLatents, generatePixels, type GeneratedPixels } from './gan/sampling.js';
// A class-conditional G's input [z ; onehot(y)] (LoadedGenerator.classes), and a run's fixed grid inputs as `train` draws them.
export { conditionalInput, generatorInput } from './gan/network.js';
export { drawFixedSamples, type FixedSamples } from './gan/fixed-samples.js';
export { toImageData, drawToCanvas, imageGrid, type Images, type ImageDataLike, type CanvasLike, type ImageDataOptions, type Image, type GridOptions } from './gan/images.js';
// The training loop (epochs, batches, callbacks, stop and resume) the CLI's train runs.
export * from './gan/training-loop.js';
// Data as bytes: IDX files, the Fashion-MNIST selection, batches, and the files fetched over HTTP (gunzipped with
// DecompressionStream) for a page that trains in the tab.
export { decodeIdx, parseIdxHeader, DataError, type IdxFile, type IdxHeader } from './data/idx-format.js';
export { FASHION_MNIST, FASHION_MNIST_CLASSES, DEFAULT_DATA_DIR, resolveClasses, selectExamples, type Dataset, type MnistLikeSpec, type Split } from './data/fashion-mnist.js';
export { Batcher, type BatcherState, type BatchSource, type Batch } from './data/batches.js';
export { fetchFashionMnist, fetchMnistLike, fetchIdx, gunzip, type FetchMnistOptions } from './data/fetch-mnist.js';
// Model presets and training checkpoints as bytes (what `train` writes and `train --resume` / `generate` read).
export { PRESETS, PRESET_NAMES, DEFAULT_PRESET, findPreset, type Preset } from './gan/presets.js';
export { encodeTrainingCheckpoint, CHECKPOINT_FORMAT, type TrainingCheckpointState } from './gan/training-checkpoint.js';
