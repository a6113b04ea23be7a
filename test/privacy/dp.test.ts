/**
 * The DP samplers, statistically: uniform integers, Bernoulli(exp(-γ)), the discrete
 * Laplace and Gaussian distributions against their exact probability mass functions
 * (chi-square tests whose critical values a correct sampler exceeds with probability about
 * 10⁻⁶, so the suite does not flake), the noise a calibrated mechanism adds against its
 * scale, the zCDP conversion, the group-selection threshold, and the grid.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bernoulli,
  bernoulliExp,
  type ByteSource,
  cryptoBytes,
  discreteGaussian,
  discreteLaplace,
  gaussianSigma2,
  gridFor,
  laplaceEpsilon,
  noisy,
  rhoFor,
  selectionThreshold,
  toRational,
  uniformBelow,
} from '../../src/privacy/dp/index.ts';

/** A deterministic byte stream (SHA-256 in counter mode): for reproducible tests only. */
function seeded(seed: string): ByteSource {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n) => {
    while (pool.length < n)
      pool = Buffer.concat([pool, createHash('sha256').update(`${seed}:${counter++}`).digest()]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return out;
  };
}

/** Chi-square critical values at p = 1e-6 by degrees of freedom (from the chi-square quantile function). */
function critical(df: number): number {
  // Wilson–Hilferty approximation of the 1 - 1e-6 quantile (z = 4.753).
  const z = 4.753;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

/** Chi-square statistic of integer samples against a pmf on [-k, k] with both tails pooled. */
function chiSquare(
  samples: readonly number[],
  pmf: (x: number) => number,
  k: number,
): { stat: number; df: number } {
  const n = samples.length;
  const observed = new Map<number, number>();
  for (const s of samples) {
    const key = Math.max(-k - 1, Math.min(k + 1, s));
    observed.set(key, (observed.get(key) ?? 0) + 1);
  }
  let inside = 0;
  let stat = 0;
  for (let x = -k; x <= k; x++) {
    const e = n * pmf(x);
    inside += pmf(x);
    stat += ((observed.get(x) ?? 0) - e) ** 2 / e;
  }
  const tail = (n * (1 - inside)) / 2;
  stat += ((observed.get(-k - 1) ?? 0) - tail) ** 2 / tail + ((observed.get(k + 1) ?? 0) - tail) ** 2 / tail;
  return { stat, df: 2 * k + 2 };
}

const variance = (xs: readonly number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};

describe('exact random draws', () => {
  it('uniformBelow is uniform and in range (crypto source)', () => {
    const n = 12_000;
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < n; i++) {
      const x = Number(uniformBelow(7n));
      expect(x >= 0 && x < 7).toBe(true);
      counts[x] = (counts[x] ?? 0) + 1;
    }
    const stat = counts.reduce((a, c) => a + (c - n / 7) ** 2 / (n / 7), 0);
    expect(stat).toBeLessThan(critical(6));
  });

  it('bernoulliExp(γ) is true with probability exp(-γ), for γ below and above 1', () => {
    for (const gamma of [0.3, 2.5]) {
      const n = 8000;
      const p = Math.exp(-gamma);
      let hits = 0;
      const bytes = seeded(`bexp${gamma}`);
      for (let i = 0; i < n; i++) if (bernoulliExp(toRational(gamma), bytes)) hits++;
      // Five standard deviations of a binomial.
      expect(Math.abs(hits - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    }
  });

  it('bernoulli(num/den) is exact for small and huge denominators (compared bit by bit)', () => {
    const big = 2n ** 70n;
    for (const [p, r] of [
      [1 / 3, { num: 1n, den: 3n }],
      [0.7, { num: (7n * big) / 10n, den: big }],
      [0.25, { num: big / 4n, den: big }],
    ] as const) {
      const n = 8000;
      const bytes = seeded(`bern${p}`);
      let hits = 0;
      for (let i = 0; i < n; i++) if (bernoulli(r, bytes)) hits++;
      expect(Math.abs(hits - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    }
    expect(bernoulli({ num: 0n, den: 5n })).toBe(false);
    expect(bernoulli({ num: 5n, den: 5n })).toBe(true);
  });

  it('uniformBelow beyond 2^52 (the bigint path) is in range and uniform in its top bits', () => {
    const n = 3n * 2n ** 60n;
    const counts = [0, 0, 0];
    const bytes = seeded('ub-big');
    for (let i = 0; i < 6000; i++) {
      const x = uniformBelow(n, bytes);
      expect(x >= 0n && x < n).toBe(true);
      counts[Number(x / 2n ** 60n)] = (counts[Number(x / 2n ** 60n)] ?? 0) + 1;
    }
    const stat = counts.reduce((a, c) => a + (c - 2000) ** 2 / 2000, 0);
    expect(stat).toBeLessThan(critical(2));
  });

  it('the pooled CSPRNG never hands out the same bytes twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(Buffer.from(cryptoBytes(16)).toString('hex'));
    expect(seen.size).toBe(20_000);
    expect(cryptoBytes(100_000)).toHaveLength(100_000);
  });

  it('toRational is exact', () => {
    expect(toRational(0.75)).toEqual({ num: 3n, den: 4n });
    expect(toRational(3)).toEqual({ num: 3n, den: 1n });
    const r = toRational(0.1);
    expect(Number(r.num) / Number(r.den)).toBe(0.1);
    expect(() => toRational(Number.NaN)).toThrow(RangeError);
  });
});

describe('discrete Laplace', () => {
  // The last pair takes the bigint path (s, t above 2^52), the others the exact-double path
  // (the third with s and t far above 2^32, as a sum's noise has them).
  for (const [s, t] of [
    [1n, 2n],
    [2n, 7n],
    [3n * 2n ** 40n, 7n * 2n ** 40n],
    [3n * 2n ** 60n, 7n * 2n ** 60n],
  ] as const) {
    it(`matches its pmf with scale ${t}/${s}`, () => {
      const b = Number(t) / Number(s);
      const q = Math.exp(-1 / b);
      const pmf = (x: number) => ((1 - q) / (1 + q)) * q ** Math.abs(x);
      const bytes = seeded(`dl${s}/${t}`);
      const samples = Array.from({ length: 12_000 }, () => Number(discreteLaplace(s, t, bytes)));
      const { stat, df } = chiSquare(samples, pmf, Math.ceil(3 * b));
      expect(stat).toBeLessThan(critical(df));
      const exactVar = (2 * q) / (1 - q) ** 2;
      expect(Math.abs(variance(samples) / exactVar - 1)).toBeLessThan(0.12);
    });
  }
});

describe('discrete Gaussian', () => {
  // 0.8 is a fraction over 2^52 (the bigint path); 9 and 2.375 = 19/8 take the double path.
  for (const sigma2 of [0.8, 9, 2.375]) {
    it(`matches its pmf with σ² = ${sigma2}`, () => {
      let z = 0;
      for (let x = -200; x <= 200; x++) z += Math.exp(-(x * x) / (2 * sigma2));
      const pmf = (x: number) => Math.exp(-(x * x) / (2 * sigma2)) / z;
      const bytes = seeded(`dg${sigma2}`);
      const samples = Array.from({ length: 10_000 }, () =>
        Number(discreteGaussian(toRational(sigma2), bytes)),
      );
      const { stat, df } = chiSquare(samples, pmf, Math.ceil(2.5 * Math.sqrt(sigma2)));
      expect(stat).toBeLessThan(critical(df));
      let exactVar = 0;
      for (let x = -200; x <= 200; x++) exactVar += x * x * pmf(x);
      expect(Math.abs(variance(samples) / exactVar - 1)).toBeLessThan(0.12);
    });
  }
});

describe('calibrated mechanisms', () => {
  it('rounds ε down and σ² up to 20 significant bits, leaving exact ones alone', () => {
    const value = (r: { num: bigint; den: bigint }) => Number(r.num) / Number(r.den);
    for (const eps of [1 / 3, 0.1, 0.7, 1e-4, 3.3, 12_345.678]) {
      const r = laplaceEpsilon(eps);
      expect(value(r)).toBeLessThanOrEqual(eps);
      expect(value(r)).toBeGreaterThan(eps * (1 - 2 ** -19));
      expect(r.num < 2n ** 21n && r.den <= 2n ** 40n).toBe(true);
    }
    expect(laplaceEpsilon(0.5)).toEqual({ num: 1n, den: 2n });
    expect(laplaceEpsilon(2)).toEqual({ num: 2n, den: 1n });
    for (const steps of [1n, 7n, 2n ** 21n + 1n]) {
      const spec = { mechanism: 'gaussian' as const, epsilon: 1 / 3, delta: 1e-6 };
      const exact = Number(steps) ** 2 / (2 * rhoFor(spec.epsilon, spec.delta));
      const r = gaussianSigma2(steps, spec);
      expect(value(r)).toBeGreaterThanOrEqual(exact);
      expect(value(r)).toBeLessThan(exact * (1 + 2 ** -18));
    }
    expect(() => laplaceEpsilon(0)).toThrow(/epsilon/);
  });

  it('Laplace noise on a count has the scale 1/ε', () => {
    const eps = 0.5;
    const spec = { mechanism: 'laplace' as const, epsilon: eps, delta: 0 };
    const out = Array.from({ length: 6000 }, () => noisy(1000, 1, true, spec) - 1000);
    const q = Math.exp(-eps);
    expect(Math.abs(variance(out) / ((2 * q) / (1 - q) ** 2) - 1)).toBeLessThan(0.15);
    expect(out.every(Number.isInteger)).toBe(true);
    expect(Math.abs(out.reduce((a, b) => a + b, 0) / out.length)).toBeLessThan(0.5);
  });

  it('a real-valued sum is noised on a power-of-two grid, never leaking low-order bits', () => {
    const spec = { mechanism: 'laplace' as const, epsilon: 1, delta: 0 };
    const g = gridFor(5000, false);
    expect(Number.isInteger(Math.log2(g))).toBe(true);
    const released = Array.from({ length: 2000 }, () => noisy(123_456.789, 5000, false, spec));
    for (const r of released) expect(Number.isInteger(r / g)).toBe(true);
    // Scale about Δ/ε = 5000: the spread is the Laplace one, not the grid's.
    const sd = Math.sqrt(variance(released));
    expect(sd).toBeGreaterThan(5000 * Math.SQRT2 * 0.85);
    expect(sd).toBeLessThan(5000 * Math.SQRT2 * 1.15);
  });

  it('Gaussian: ρ converts back to (ε, δ), and the noise has σ² = Δ²/(2ρ)', () => {
    for (const [eps, delta] of [
      [0.5, 1e-6],
      [3, 1e-9],
    ] as const) {
      const rho = rhoFor(eps, delta);
      expect(rho + 2 * Math.sqrt(rho * Math.log(1 / delta))).toBeCloseTo(eps, 12);
    }
    const spec = { mechanism: 'gaussian' as const, epsilon: 1, delta: 1e-5 };
    const out = Array.from({ length: 4000 }, () => noisy(0, 1, true, spec));
    const expected = 1 / (2 * rhoFor(1, 1e-5));
    expect(Math.abs(variance(out) / expected - 1)).toBeLessThan(0.15);
    expect(() => noisy(0, 1, true, { mechanism: 'gaussian', epsilon: 1, delta: 0 })).toThrow(/delta/);
  });

  it('the selection threshold shows a one-row group with probability at most δ', () => {
    for (const eps of [0.1, 1]) {
      const delta = 1e-6;
      const tau = selectionThreshold({ mechanism: 'laplace', epsilon: eps, delta: 0 }, delta);
      const q = Math.exp(-eps);
      // P(1 + Z >= τ) for discrete Laplace Z with parameter q.
      const tail = (((1 - q) / (1 + q)) * q ** (tau - 1)) / (1 - q);
      expect(tail).toBeLessThanOrEqual(delta);
      expect(tau).toBeLessThan(1 + Math.log(1 / delta) / eps + 2);
    }
  });
});
