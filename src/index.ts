// atelier's browser-safe public API: the runtime (engine, arrays), tensors, autograd, ops, modules and the DCGAN.
// Node-only entries (Dawn device creation, files, CLI) live in src/node, src/io, src/data and src/cli.
export { Engine, type KernelCall, type EngineStats, type Binding } from './runtime/engine.js';
export { Params, grid1d } from './runtime/params.js';
export { DeviceArray, Storage } from './runtime/storage.js';
export { engineFromAdapter, engineFromDevice, requiredLimits, adapterName } from './runtime/device.js';
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
// Algorithm switches: set `.algorithm = 'naive'` to run the reference kernels instead of the fast ones.
export { matmulConfig } from './kernels/matmul.js';
export { convConfig } from './kernels/conv.js';
export { Module } from './nn/module.js';
export * from './nn/layers.js';
export * from './nn/spectral-norm.js';
export { Adam, type AdamOptions } from './nn/adam.js';
export * from './gan/models.js';
export * from './gan/trainer.js';
// Measured sample quality: the feature classifier, FID and friends, and the quality probe for training runs.
export * from './gan/classifier.js';
export * from './gan/features.js';
export * from './gan/quality.js';
export * from './gan/nearest.js';
export * from './gan/evaluate.js';
// A critic trained after the fact against a frozen generator, and rejection sampling with it.
export * from './gan/critic.js';
export * from './gan/rejection.js';
