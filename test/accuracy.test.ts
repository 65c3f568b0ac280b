// accuracy(): the class count comes from the logits' length, so any head works, not only Fashion-MNIST's 10.
import { describe, it, expect } from 'vitest';
import { accuracy } from '../src/gan/features.js';

/** Logits [rows, classes] whose arg-max is `predicted[i]` in row i (other entries random below it). */
function logitsFor(predicted: number[], classes: number): Float32Array {
  const out = new Float32Array(predicted.length * classes);
  predicted.forEach((p, i) => {
    for (let c = 0; c < classes; c++) out[i * classes + c] = Math.sin(i * 31 + c * 7) - 2;
    out[i * classes + p] = 5;
  });
  return out;
}

describe('accuracy', () => {
  for (const classes of [2, 3, 10, 17, 300]) {
    it(`counts right rows with ${classes} classes`, () => {
      const predicted = Array.from({ length: 12 }, (_, i) => (i * 5 + 1) % classes);
      const labels = predicted.map((p, i) => (i % 4 === 0 ? (p + 1) % classes : p)); // 3 of 12 wrong
      const want = classes === 1 ? 1 : 9 / 12;
      expect(accuracy(logitsFor(predicted, classes), Uint16Array.from(labels))).toBe(want);
    });
  }

  it('takes the first class on ties and Uint8Array labels', () => {
    expect(accuracy(new Float32Array([1, 1, 0, 0, 2, 2]), new Uint8Array([0, 2]))).toBe(0.5);
  });

  it('refuses logits that do not split into one row per label, and no rows', () => {
    expect(() => accuracy(new Float32Array(7), new Uint8Array(2))).toThrow(/^accuracy: 7 logits do not split into 2 rows/);
    expect(() => accuracy(new Float32Array(0), new Uint8Array(0))).toThrow(/^accuracy: 0 logits do not split into 0 rows/);
    expect(() => accuracy(new Float32Array(0), new Uint8Array(3))).toThrow(/do not split/);
  });
});
