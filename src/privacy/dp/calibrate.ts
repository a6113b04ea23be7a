/**
 * Calibrating the discrete mechanisms to (ε, δ) and applying them to numbers.
 *
 * Values are rounded to a grid before noise is added: integers (counts, histogram bins,
 * sums of integers with integer bounds) use the grid 1 and their own sensitivity; other
 * values use a power-of-two grid 2^k about a millionth of the sensitivity, and a
 * sensitivity in grid steps of ⌈Δ/g⌉ + 1 (rounding can move a value by one step more), so
 * the grid costs a negligible amount of accuracy and no privacy.
 *
 *  - Laplace: discrete Laplace with scale Δ_g/ε', pure ε-DP, where ε' is ε rounded down
 *    to 20 significant bits (a smaller ε' is a stronger guarantee).
 *  - Gaussian: discrete Gaussian with σ² = Δ_g²/(2ρ), where ρ is the largest zCDP
 *    parameter that converts to (ε, δ)-DP by ε = ρ + 2√(ρ·ln(1/δ)) (Bun and Steinke 2016,
 *    Proposition 1.3); σ² is rounded up to 20 significant bits, so the guarantee holds.
 *
 * Why 20 bits: an ε or σ² taken exactly from its double is a fraction over 2^54 or so,
 * which sends every draw down the samplers' bigint path; over 2^20 or so, the same draws
 * stay in exact double arithmetic (discrete.ts) and run about twice as fast, for one part
 * in a million more noise.
 */
import { discreteGaussian, discreteLaplace } from './discrete.ts';
import { type ByteSource, cryptoBytes, type Rational, toRational } from './random.ts';

/** The mechanism and privacy parameters of one noisy query. */
export interface NoiseSpec {
  mechanism: 'laplace' | 'gaussian';
  epsilon: number;
  /** Only the Gaussian mechanism spends it (must be > 0 there). */
  delta: number;
}

/** The zCDP parameter ρ whose (ε, δ) conversion is exactly (epsilon, delta). */
export function rhoFor(epsilon: number, delta: number): number {
  const l = Math.log(1 / delta);
  return (Math.sqrt(l + epsilon) - Math.sqrt(l)) ** 2;
}

/** The grid step for values of sensitivity Δ: 1 for integer queries, else a power of two near Δ/2^20. */
export function gridFor(sensitivity: number, integer: boolean): number {
  if (integer) return 1;
  return 2 ** (Math.floor(Math.log2(sensitivity)) - 20);
}

/** Sensitivity in grid steps: exact for integer queries, ⌈Δ/g⌉ + 1 otherwise. */
function gridSensitivity(sensitivity: number, grid: number, integer: boolean): bigint {
  return integer ? BigInt(Math.ceil(sensitivity)) : BigInt(Math.ceil(sensitivity / grid)) + 1n;
}

/** Integer noise in grid steps for a query of sensitivity `steps` (in grid steps). */
export function gridNoise(steps: bigint, spec: NoiseSpec, bytes: ByteSource = cryptoBytes): bigint {
  if (spec.mechanism === 'laplace') {
    const eps = laplaceEpsilon(spec.epsilon);
    // scale t/s = steps / ε' = steps·den / num.
    return discreteLaplace(eps.num, steps * eps.den, bytes);
  }
  return discreteGaussian(gaussianSigma2(steps, spec), bytes);
}

/** The standard deviation of the noise gridNoise adds for `steps` (for thresholds and docs). */
export function noiseStddev(steps: number, spec: NoiseSpec): number {
  if (spec.mechanism === 'laplace') return (Math.SQRT2 * steps) / ratio(laplaceEpsilon(spec.epsilon));
  return Math.sqrt(ratio(gaussianSigma2(BigInt(steps), spec)));
}

const SIGNIFICANT_BITS = 20;

/** The ε the Laplace sampler is given: `epsilon` rounded down to 20 significant bits. */
export function laplaceEpsilon(epsilon: number): Rational {
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError('epsilon must be positive');
  return roundDyadic(epsilon, 'down');
}

/** The σ² the Gaussian sampler is given for `steps`: Δ_g²/(2ρ) rounded up to 20 significant bits. */
export function gaussianSigma2(steps: bigint, spec: NoiseSpec): Rational {
  if (!(spec.delta > 0)) throw new RangeError('the Gaussian mechanism needs delta > 0');
  // The factor covers the rounding of rhoFor's floating-point arithmetic.
  const sigma2 = (Number(steps) ** 2 / (2 * rhoFor(spec.epsilon, spec.delta))) * (1 + 1e-9);
  return roundDyadic(sigma2, 'up');
}

// A release draws many times with the same parameters: the last few roundings are kept.
const rounded = new Map<string, Rational>();

/** x > 0 rounded to a fraction m/2^k with m of 20 significant bits, reduced; exact in bigints. */
function roundDyadic(x: number, direction: 'up' | 'down'): Rational {
  const key = `${direction}${x}`;
  let r = rounded.get(key);
  if (!r) {
    if (rounded.size >= 64) rounded.clear();
    r = roundDyadicUncached(x, direction);
    rounded.set(key, r);
  }
  return r;
}

function roundDyadicUncached(x: number, direction: 'up' | 'down'): Rational {
  const exact = toRational(x);
  // Keep the top SIGNIFICANT_BITS bits of the numerator and shift the rest off.
  const drop = BigInt(Math.max(0, exact.num.toString(2).length - SIGNIFICANT_BITS));
  let num = exact.num >> drop;
  if (direction === 'up' && num << drop !== exact.num) num += 1n;
  num <<= drop;
  let den = exact.den;
  while (num % 2n === 0n && den % 2n === 0n) {
    num >>= 1n;
    den >>= 1n;
  }
  return { num, den };
}

const ratio = (r: Rational): number => Number(r.num) / Number(r.den);

/** `value` made DP: rounded to the grid and noised for sensitivity Δ under `spec`. */
export function noisy(
  value: number,
  sensitivity: number,
  integer: boolean,
  spec: NoiseSpec,
  bytes: ByteSource = cryptoBytes,
): number {
  const grid = gridFor(sensitivity, integer);
  const steps = gridSensitivity(sensitivity, grid, integer);
  const rounded = BigInt(Math.round(value / grid));
  return Number(rounded + gridNoise(steps, spec, bytes)) * grid;
}

/**
 * The smallest noisy count at which a group may be released without revealing, except
 * with probability δ, that a group exists at all: a group one row creates has true count
 * 1, and its noisy count reaches τ with probability at most δ.
 */
export function selectionThreshold(spec: NoiseSpec, delta: number): number {
  if (spec.mechanism === 'laplace')
    return 1 + Math.ceil(Math.log(1 / delta) / ratio(laplaceEpsilon(spec.epsilon)));
  return 1 + Math.ceil(noiseStddev(1, spec) * Math.sqrt(2 * Math.log(1 / delta)));
}
