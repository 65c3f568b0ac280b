// Seeds of independent random streams derived from one user seed, one per purpose, so that no two uses of the
// counter-based generator share a (seed, counter) key (issue 15.7: the critic's initial weights and its z once
// came from the same keys).

/** murmur3's 32-bit finaliser: a bijection on uint32 that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a of the purpose's UTF-16 code units. */
function hashPurpose(purpose: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The seed of the stream for `purpose` (a name such as 'critic.init') under the user's `seed` (uint32):
 * fmix32(seed ⊕ fmix32(FNV-1a(purpose))). For one purpose distinct seeds give distinct stream seeds (fmix32 is a
 * bijection); two purposes under one seed collide with probability 2⁻³².
 */
export function streamSeed(seed: number, purpose: string): number {
  return fmix32((seed >>> 0) ^ fmix32(hashPurpose(purpose)));
}
