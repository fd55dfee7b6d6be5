/**
 * Seeded randomness for shuffling, dropout, sampling and drift scenarios: the same seed gives
 * the same numbers on every machine. mulberry32 is a 32-bit generator with a full 2^32 period — plenty for
 * image noise — and fits in a few lines, so no dependency is worth adding for it.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal N(0, 1) (Box-Muller, both outputs of each pair used). */
  normal(): number;
}

/** A seeded generator. Any finite seed works; it is folded to 32 bits. */
export function createRandom(seed: number): Random {
  let state = foldSeed(seed);
  let spareNormal: number | null = null;

  const next = (): number => {
    // mulberry32 (Tommy Ettinger): one add, two multiply-xorshift rounds.
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const normal = (): number => {
    if (spareNormal !== null) {
      const value = spareNormal;
      spareNormal = null;
      return value;
    }
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    const angle = 2 * Math.PI * next();
    spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };

  return { next, normal };
}

/**
 * A seed for one named stream derived from a run seed, so scenarios draw independent
 * noise (noisy and very_noisy do not share a stream) and adding a scenario leaves the
 * others' images unchanged. FNV-1a over the name, mixed with the seed.
 */
export function deriveSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ foldSeed(seed);
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function foldSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  // Integers up to 2^53 keep their high bits; fractions keep their fractional part.
  const high = Math.floor(seed / 4294967296);
  const fraction = Math.round((seed - Math.floor(seed)) * 4294967296);
  return (Math.floor(seed) ^ Math.imul(high, 0x9e3779b1) ^ fraction) >>> 0;
}
