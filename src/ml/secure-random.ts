/**
 * The secret randomness of DP-SGD, from the operating system's CSPRNG (`node:crypto`),
 * never Math.random or a seed: amplification by sampling assumes the batches are secret,
 * and noise anyone could regenerate would protect nothing. The Gaussian is drawn in
 * floating point (Box–Muller), as in the standard DP-SGD libraries.
 */
import { randomBytes } from 'node:crypto';

/** A uniform draw in (0, 1) from 53 CSPRNG bits: 27 high bits · 2^26 + 26 low bits. */
export function uniform(): number {
  const b = randomBytes(8);
  const hi = b.readUInt32BE(0) >>> 5;
  const lo = b.readUInt32BE(4) >>> 6;
  return (hi * 2 ** 26 + lo + 0.5) / 2 ** 53;
}

/**
 * Poisson sampling: each of rows 0..m-1 independently with probability q, in order. The
 * gaps between chosen rows are drawn as geometric variables (⌊ln U / ln(1 − q)⌋), which has
 * the same distribution as one Bernoulli(q) per row but costs O(q·m) draws, not O(m).
 */
export function* poissonSample(m: number, q: number): Generator<number> {
  if (q >= 1) {
    for (let i = 0; i < m; i++) yield i;
    return;
  }
  const log1mq = Math.log1p(-q);
  for (
    let i = Math.floor(Math.log(uniform()) / log1mq);
    i < m;
    i += 1 + Math.floor(Math.log(uniform()) / log1mq)
  )
    yield i;
}

/** A standard normal draw (Box–Muller on two CSPRNG uniforms). */
export function gaussian(): number {
  return Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
