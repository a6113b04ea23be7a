/**
 * Exact random draws for the DP samplers, from the operating system's CSPRNG
 * (`node:crypto`), never `Math.random`: uniform integers by rejection sampling (no modulo
 * bias), Bernoulli(p) for rational p, and Bernoulli(exp(-γ)) for rational γ by the
 * method of Canonne, Kamath and Steinke (2020), "The Discrete Gaussian for Differential
 * Privacy", Algorithm 1. All arithmetic is on bigints: no floating point is involved, so
 * the floating-point attack on textbook Laplace noise (Mironov 2012) has nothing to use.
 */
import { randomBytes } from 'node:crypto';

/** A source of uniformly random bytes (crypto by default; tests may pass a seeded one). */
export type ByteSource = (n: number) => Uint8Array;

/** The operating system's CSPRNG. */
export const cryptoBytes: ByteSource = (n) => randomBytes(n);

/** A rational number num/den with den > 0. */
export interface Rational {
  num: bigint;
  den: bigint;
}

/** A uniform integer in [0, n), n > 0, by rejection sampling over whole bytes. */
export function uniformBelow(n: bigint, bytes: ByteSource = cryptoBytes): bigint {
  if (n <= 0n) throw new RangeError('uniformBelow needs n > 0');
  if (n === 1n) return 0n;
  const bits = (n - 1n).toString(2).length;
  const len = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    let x = 0n;
    for (const b of bytes(len)) x = (x << 8n) | BigInt(b);
    x &= mask;
    if (x < n) return x;
  }
}

/** Bernoulli(num/den) for 0 <= num/den <= 1. */
export function bernoulli(p: Rational, bytes: ByteSource = cryptoBytes): boolean {
  return uniformBelow(p.den, bytes) < p.num;
}

/** Bernoulli(exp(-γ)) for rational γ >= 0 (CKS 2020, Algorithm 1). */
export function bernoulliExp(gamma: Rational, bytes: ByteSource = cryptoBytes): boolean {
  const { num, den } = gamma;
  if (num < 0n || den <= 0n) throw new RangeError('bernoulliExp needs γ >= 0');
  if (num <= den) {
    // γ in [0, 1]: K is the first k with A_k = 0 for A_k ~ Bernoulli(γ/k); return K odd.
    let k = 1n;
    while (bernoulli({ num, den: den * k }, bytes)) k++;
    return k % 2n === 1n;
  }
  // γ > 1: exp(-γ) = exp(-1)^⌊γ⌋ · exp(-(γ - ⌊γ⌋)).
  const whole = num / den;
  for (let i = 0n; i < whole; i++) if (!bernoulliExp({ num: 1n, den: 1n }, bytes)) return false;
  return bernoulliExp({ num: num - whole * den, den }, bytes);
}

/** The exact rational value of a finite double (every double is a dyadic rational). */
export function toRational(x: number): Rational {
  if (!Number.isFinite(x)) throw new RangeError('not a finite number');
  if (Number.isInteger(x)) return { num: BigInt(x), den: 1n };
  let den = 1n;
  let v = x;
  // Doubling is exact until v is an integer (at most 1074 times).
  while (!Number.isInteger(v)) {
    v *= 2;
    den *= 2n;
  }
  return { num: BigInt(v), den };
}
