/// <reference types="@webgpu/types" preserve="true" />
// The package's `atelier/node` entry: what only Node can do — Dawn's WebGPU (the optional `webgpu` package),
// files (safetensors, PNG, IDX) and Fashion-MNIST from disk. Everything else comes from `atelier` itself.
export { createNodeEngine, requestNodeAdapter, NoAdapterError, MissingWebgpuError, NO_ADAPTER_MESSAGE } from './gpu.js';
export { readSafetensors, writeSafetensors } from '../io/safetensors.js';
export { loadGenerator, type LoadedGenerator } from './load-generator.js';
export { loadFashionMnist, loadMnistLike } from './mnist-files.js';
export { readIdx, parseIdx, DataError, type IdxFile } from './idx-file.js';
export { encodePng, writePng } from '../io/png.js';
export { writeImagesGrid } from './images.js';
export { saveCheckpoint, loadTrainingCheckpoint, CHECKPOINT_FORMAT } from './checkpoint-files.js';
export { FASHION_MNIST, type Dataset, type LoadOptions, type MnistLikeSpec } from '../data/fashion-mnist.js';
