/**
 * The discrete Laplace and discrete Gaussian distributions on the integers, sampled
 * exactly (Canonne, Kamath and Steinke 2020, Algorithms 2 and 3). We chose discrete
 * mechanisms over snapping (Mironov 2012) because they need no floating-point reasoning at
 * all: noise is an integer drawn with exact rational arithmetic, added to a value rounded to
 * a grid (see calibrate.ts), so the released value's distribution is exactly the one the
 * privacy proof is about, on any machine.
 *
 *  - Discrete Laplace with scale t/s: P(X = x) ∝ exp(-|x|·s/t). Adding it to a query of
 *    L1 sensitivity Δ (integer) with t/s = Δ/ε gives ε-DP.
 *  - Discrete Gaussian with variance parameter σ²: P(X = x) ∝ exp(-x²/(2σ²)). Adding it
 *    to a query of sensitivity Δ gives ρ-zCDP with ρ = Δ²/(2σ²) (CKS Theorem 14).
 */
import {
  bernoulliExp,
  bernoulliExpSmall,
  type ByteSource,
  cryptoBytes,
  type Rational,
  randomBit,
  uniformBelow,
  uniformBelowExact,
} from './random.ts';

/** A discrete Laplace sample with scale t/s (positive integers). */
export function discreteLaplace(s: bigint, t: bigint, bytes: ByteSource = cryptoBytes): bigint {
  if (s <= 0n || t <= 0n) throw new RangeError('discreteLaplace needs positive s and t');
  if (s <= SMALL && t <= SMALL) return BigInt(discreteLaplaceSmall(Number(s), Number(t), bytes));
  for (;;) {
    const u = uniformBelow(t, bytes);
    if (!bernoulliExp({ num: u, den: t }, bytes)) continue;
    let v = 0n;
    while (bernoulliExpSmall(1, 1, bytes)) v++;
    const y = (u + t * v) / s;
    const negative = randomBit(bytes) === 1;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

const SMALL = 2n ** 52n;

/** discreteLaplace() for s, t <= 2^52 in doubles: integer steps exact below 2^53. */
function discreteLaplaceSmall(s: number, t: number, bytes: ByteSource): number {
  for (;;) {
    const u = t === 1 ? 0 : uniformBelowExact(t, bytes);
    if (!bernoulliExpSmall(u, t, bytes)) continue;
    let v = 0;
    while (bernoulliExpSmall(1, 1, bytes)) v++;
    // u + t·v < t·(v + 1): exact in doubles while that is below 2^53 (a rounded product is
    // at least 2^53 when the exact one is), else divided in bigints.
    const y =
      t * (v + 1) < 2 ** 53
        ? Math.floor((u + t * v) / s)
        : Number((BigInt(u) + BigInt(t) * BigInt(v)) / BigInt(s));
    const negative = randomBit(bytes) === 1;
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

/** A discrete Gaussian sample with variance parameter σ² (a positive rational). */
export function discreteGaussian(sigma2: Rational, bytes: ByteSource = cryptoBytes): bigint {
  const { num: a, den: b } = sigma2;
  if (a <= 0n || b <= 0n) throw new RangeError('discreteGaussian needs σ² > 0');
  // t = ⌊σ⌋ + 1, from the integer square root of ⌊σ²⌋ (a release draws many times with one σ²).
  if (a !== lastA || b !== lastB) {
    lastA = a;
    lastB = b;
    lastT = isqrt(a / b) + 1n;
  }
  const t = lastT;
  const den = 2n * a * b * t * t;
  if (den <= SMALL) return BigInt(discreteGaussianSmall(Number(a), Number(b), Number(t), Number(den), bytes));
  for (;;) {
    const y = discreteLaplace(1n, t, bytes);
    const abs = y < 0n ? -y : y;
    // Accept with probability exp(-(|y| - σ²/t)² / (2σ²)) = exp(-(|y|·t·b - a)² / (2·a·b·t²)).
    const diff = abs * t * b - a;
    if (bernoulliExp({ num: diff * diff, den }, bytes)) return y;
  }
}

let lastA = 0n;
let lastB = 0n;
let lastT = 0n;

/** discreteGaussian() when 2·a·b·t² <= 2^52, in doubles wherever the numbers stay exact. */
function discreteGaussianSmall(a: number, b: number, t: number, den: number, bytes: ByteSource): number {
  for (;;) {
    const y = discreteLaplaceSmall(1, t, bytes);
    const scaled = Math.abs(y) * t * b;
    const diff = scaled - a;
    // Exact while |y|·t·b < 2^53; the acceptance test in doubles while diff² <= 2^52.
    const accept =
      scaled < 2 ** 53 && diff * diff <= 2 ** 52
        ? bernoulliExpSmall(diff * diff, den, bytes)
        : bernoulliExp(
            { num: (BigInt(Math.abs(y)) * BigInt(t) * BigInt(b) - BigInt(a)) ** 2n, den: BigInt(den) },
            bytes,
          );
    if (accept) return y;
  }
}

/** ⌊√n⌋ for n >= 0 (Newton's method on bigints). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number');
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}
