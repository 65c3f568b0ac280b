// The feature classifier behind FID and the other quality measures: a small CNN trained on Fashion-MNIST
// (`npm run train-classifier`), whose penultimate layer (128 ReLU units) is the feature space. Kept to about
// 3 MFLOP per image so that it trains and embeds tens of thousands of images quickly even on lavapipe.
import type { Engine } from '../runtime/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { rngState, setRngState } from '../tensor/state.js';
import { Module } from '../nn/module.js';
import { Sequential, Conv2d, BatchNorm2d, Linear, ReLU, Flatten, Dropout } from '../nn/layers.js';
import { loadModuleState, moduleState, CheckpointError, type LoadedTensors, type TensorRecord } from './checkpoint.js';

export const CLASSIFIER_PREFIX = 'classifier.';
export const CLASSIFIER_FORMAT = 'atelier-classifier/1';
export const CLASSIFIER_FEATURES = 128;
export const CLASSIFIER_CLASSES = 10;

export class FeatureClassifier extends Module {
  /** Image [N, 1, 28, 28] in [−1, 1] → features [N, 128]. */
  readonly body: Sequential;
  /** Features → logits [N, 10]. */
  readonly head: Sequential;

  constructor(engine: Engine) {
    super();
    this.body = this.child('body', new Sequential(
      new Conv2d(engine, 1, 32, 5, { stride: 2, padding: 2, bias: false }), // 28 → 14
      new BatchNorm2d(engine, 32),
      ReLU(),
      new Conv2d(engine, 32, 64, 3, { stride: 2, padding: 1, bias: false }), // 14 → 7
      new BatchNorm2d(engine, 64),
      ReLU(),
      Flatten(),
      new Linear(engine, 64 * 7 * 7, CLASSIFIER_FEATURES),
      ReLU(),
    ));
    this.head = this.child('head', new Sequential(Dropout(0.3), new Linear(engine, CLASSIFIER_FEATURES, CLASSIFIER_CLASSES)));
  }

  forward(x: Tensor): Tensor {
    return this.head.forward(this.body.forward(x));
  }

  /** Features and logits from one pass. */
  featuresAndLogits(x: Tensor): { features: Tensor; logits: Tensor } {
    const features = this.body.forward(x);
    return { features, logits: this.head.forward(features) };
  }
}

/**
 * A classifier with the weights of `state` (tensors named `classifier.*`, as train-classifier writes them).
 * Building it draws initial weights, which are overwritten: the engine's RNG is restored so that loading a
 * classifier in the middle of a training run leaves that run's random stream untouched.
 */
export function loadClassifier(engine: Engine, state: LoadedTensors, source: string): FeatureClassifier {
  const first = `${CLASSIFIER_PREFIX}body.0.weight`;
  if (!state[first]) {
    throw new CheckpointError(`${source}: tensor "${first}" is missing — is this a classifier written by npm run train-classifier?`);
  }
  const rng = rngState(engine);
  const model = new FeatureClassifier(engine);
  setRngState(engine, rng);
  try {
    loadModuleState(engine, CLASSIFIER_PREFIX, model, state, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

export function classifierState(model: FeatureClassifier): Promise<TensorRecord> {
  return moduleState(CLASSIFIER_PREFIX, model);
}
