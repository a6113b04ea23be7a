/**
 * The privacy accountant of DP-SGD: Rényi differential privacy of the Poisson-subsampled
 * Gaussian mechanism at integer orders α (Mironov, Talwar and Zhang 2019, "Rényi
 * Differential Privacy of the Sampled Gaussian Mechanism", Section 3.3):
 *
 *   RDP(α) = log( Σ_{k=0..α} C(α,k) (1−q)^{α−k} q^k exp((k² − k) / (2σ²)) ) / (α − 1)
 *
 * per step, composed over T steps by addition, and converted to (ε, δ)-DP by
 * ε = min_α T·RDP(α) + log(1/δ)/(α − 1) (Mironov 2017, Proposition 3). Only integer orders
 * are used, so ε is at most slightly above what fractional orders would give (never
 * below). Computed in log space. `noiseForEpsilon` finds the smallest noise multiplier
 * (to 0.1%) that keeps ε within a target.
 */

/** Orders at which the RDP curve is evaluated. */
export const ORDERS: readonly number[] = [
  ...Array.from({ length: 63 }, (_, i) => i + 2),
  80,
  96,
  128,
  160,
  192,
  256,
];

function logAdd(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

function logBinomial(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** RDP of one step of the sampled Gaussian mechanism at integer order `alpha`. */
export function rdpStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (q === 1) return alpha / (2 * sigma * sigma);
  let log = Number.NEGATIVE_INFINITY;
  for (let k = 0; k <= alpha; k++) {
    log = logAdd(
      log,
      logBinomial(alpha, k) +
        (alpha - k) * Math.log1p(-q) +
        k * Math.log(q) +
        (k * k - k) / (2 * sigma * sigma),
    );
  }
  return log / (alpha - 1);
}

/** RDP at order `alpha` of one Gaussian query with noise multiplier `s` (stddev over L2 sensitivity): α/(2s²). */
export function gaussianRdp(s: number, alpha: number): number {
  return alpha / (2 * s * s);
}

/** RDP of further releases composed with the DP-SGD run (e.g. noisy counts and metrics), by order. */
export type ExtraRdp = (alpha: number) => number;

/**
 * The (ε at δ) of `steps` steps with sampling rate `q` and noise multiplier `sigma`,
 * composed with the releases whose RDP `extra` gives.
 */
export function dpSgdEpsilon(
  q: number,
  sigma: number,
  steps: number,
  delta: number,
  orders: readonly number[] = ORDERS,
  extra: ExtraRdp = () => 0,
): { epsilon: number; order: number } {
  let best = { epsilon: Number.POSITIVE_INFINITY, order: 0 };
  for (const alpha of orders) {
    const eps = steps * rdpStep(q, sigma, alpha) + extra(alpha) + Math.log(1 / delta) / (alpha - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: alpha };
  }
  return best;
}

/** The smallest noise multiplier (within 0.1%) whose ε at δ, composed with `extra`, is at most `epsilon`. */
export function noiseForEpsilon(
  q: number,
  steps: number,
  epsilon: number,
  delta: number,
  extra: ExtraRdp = () => 0,
): number {
  let lo = 0.05;
  let hi = 1;
  while (dpSgdEpsilon(q, hi, steps, delta, ORDERS, extra).epsilon > epsilon) {
    hi *= 2;
    if (hi > 1e4) throw new RangeError('no noise multiplier reaches this epsilon');
  }
  while (hi - lo > hi * 1e-3) {
    const mid = (lo + hi) / 2;
    if (dpSgdEpsilon(q, mid, steps, delta, ORDERS, extra).epsilon > epsilon) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The noise multiplier for which one Gaussian query alone spends `epsilon` at δ, over all
 * real orders: min_α α/(2s²) + ln(1/δ)/(α − 1) = 1/(2s²) + √(2 ln(1/δ))/s, solved for s.
 */
export function gaussianNoiseFor(epsilon: number, delta: number): number {
  const l = Math.sqrt(2 * Math.log(1 / delta));
  return 1 / (Math.sqrt(l * l + 2 * epsilon) - l);
}
