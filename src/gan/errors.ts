// Errors of the training loops (GAN, critic, classifier) that the CLI prints as one line, without a stack.

/** A training run that cannot go on (a loss became NaN or infinite); the message names the fix. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}
