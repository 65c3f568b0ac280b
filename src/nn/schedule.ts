// Learning-rate schedules, as a factor on the base rate for the update about to be made.

/**
 * Constant, then linear to zero over the last `decaySteps` of `totalSteps` (CycleGAN's n_epochs_decay):
 * the update after `stepsDone` steps gets (totalSteps − stepsDone) / decaySteps, capped at 1.
 */
export function linearDecayFactor(stepsDone: number, totalSteps: number, decaySteps: number): number {
  if (decaySteps <= 0) return 1;
  return Math.max(0, Math.min(1, (totalSteps - stepsDone) / decaySteps));
}
