/** A seeded shuffle and train/validation split, so training is reproducible. */

/** xorshift32 seeded by `seed`: a small, fast, deterministic generator (not for secrets). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Rows 0..n-1 shuffled by `seed` (Fisher–Yates), then split: the last ⌊n·validation⌋ validate. */
export function seededSplit(
  n: number,
  validation: number,
  seed: number,
): { train: number[]; validation: number[] } {
  const rand = seededRandom(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  const v = Math.floor(n * validation);
  return { train: idx.slice(0, n - v), validation: idx.slice(n - v) };
}
