// What one training step of a named recipe (src/node/recipes.ts) costs on this adapter: its own config and batch
// size, a random batch, `npm run bench -- --recipe NAME[,NAME…]`. The mean over whole cycles of lazy
// regularization (--d-reg-every K: one step in K also runs the penalties), so the figure is the epoch's average.
import type { Engine } from '../src/runtime/engine.js';
import { specOfConfig } from '../src/gan/trainer.js';
import { timeTrainingStep } from '../src/gan/step-timing.js';
import { parseTrainOptions } from '../src/node/train-options.js';

export interface RecipeStepCost {
  recipe: string;
  /** The train flags given over the recipe, joined by spaces ('' for none). */
  flags: string;
  batch: number;
  steps: number;
  msPerStep: number;
  imagesPerSecond: number;
  /** ms/step × ⌈60000 / batch⌉, in seconds: an epoch of Fashion-MNIST's training set. */
  secondsPerEpoch: number;
}

/**
 * Times at least `minSteps` steps (rounded up to whole lazy cycles) after one warm-up step, of the recipe with
 * `trainFlags` (npm run train's flags, e.g. ['--d-reg-every', '1']) over it. Throws for an unknown recipe or a bad flag.
 */
export async function timeRecipeStep(engine: Engine, recipe: string, minSteps: number, trainFlags: string[] = []): Promise<RecipeStepCost> {
  const config = parseTrainOptions(['--recipe', recipe, ...trainFlags]);
  const batch = config.batchSize;
  const steps = Math.ceil(minSteps / config.dRegEvery) * config.dRegEvery;
  const images = Float32Array.from({ length: batch * 28 * 28 }, () => Math.tanh(Math.random() - 0.5));
  const labels = Array.from({ length: batch }, (_, i) => i % 10);
  // One warm-up step compiles the pipelines (step 0 is a penalised one); the timed steps are whole lazy cycles.
  const timing = await timeTrainingStep(engine, config, specOfConfig(config), images, [batch, 1, 28, 28], { warmups: 1, runs: steps, labels, statistic: 'mean' });
  return { recipe, flags: trainFlags.join(' '), batch, steps, msPerStep: timing.msPerStep, imagesPerSecond: timing.imagesPerSecond, secondsPerEpoch: (timing.msPerStep * Math.ceil(60000 / batch)) / 1000 };
}
