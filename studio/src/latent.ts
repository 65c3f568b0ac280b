// Latent vectors for the walk: z for a seed exactly as sample() draws it, and spherical interpolation between
// two (Gaussian z lie near a sphere; a straight line between them passes through unlikely, low-norm points).
import { sampleLatents, type Engine } from 'atelier';

/** The z that sample({ n: 1, seed, temperature }) uses, on the host. */
export async function latentOf(engine: Engine, latentDim: number, seed: number, temperature: number): Promise<Float32Array> {
  const z = sampleLatents(engine, 1, latentDim, { seed, counter: 0 }, temperature);
  try {
    return await z.toArray();
  } finally {
    z.dispose();
  }
}

/** slerp(a, b, t); falls back to a straight line when a and b are (nearly) parallel. */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
  const omega = Math.acos(cos);
  const out = new Float32Array(a.length);
  if (omega < 1e-4) {
    for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i] + t * b[i];
    return out;
  }
  const wa = Math.sin((1 - t) * omega) / Math.sin(omega);
  const wb = Math.sin(t * omega) / Math.sin(omega);
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + wb * b[i];
  return out;
}
