/**
 * Seeded randomness for the sample-data scripts: mulberry32 (a small, fast, seedable
 * PRNG) and a few draws built on it, so every sample file is the same on every machine.
 */

/** mulberry32: uniform in [0, 1), deterministic for a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller) from a uniform source. */
export function normal(rand: () => number): number {
  const u = Math.max(rand(), Number.EPSILON);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** One of `choices`, picked by relative weight. */
export function weighted<T>(rand: () => number, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let u = rand() * total;
  for (const [value, w] of choices) {
    if (u < w) return value;
    u -= w;
  }
  return (choices[choices.length - 1] as readonly [T, number])[0];
}

/** `n` random lower-case hex digits. */
export function hex(rand: () => number, n: number): string {
  return Math.floor(rand() * 16 ** n)
    .toString(16)
    .padStart(n, '0');
}

/** The flag `--name value` of the command line, if given. */
export function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
