import { describe, it, expect } from 'vitest';
import { linearDecayFactor } from '../src/nn/schedule.js';

describe('linearDecayFactor', () => {
  it('is 1 until the decay starts, then falls linearly to 1/decaySteps at the last update', () => {
    const factors = Array.from({ length: 10 }, (_, step) => linearDecayFactor(step, 10, 4));
    expect(factors).toEqual([1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25]);
  });
  it('decays over the whole run when decaySteps = totalSteps, and is constant with none', () => {
    expect(linearDecayFactor(0, 7, 7)).toBe(1);
    expect(linearDecayFactor(6, 7, 7)).toBeCloseTo(1 / 7, 12);
    expect(linearDecayFactor(5, 7, 0)).toBe(1);
    expect(linearDecayFactor(9, 7, 3)).toBe(0);
  });
});
