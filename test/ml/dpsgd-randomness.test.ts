/**
 * The secret randomness DP-SGD draws from (src/ml/secure-random.ts): uniforms must cover (0, 1)
 * evenly — Poisson sampling includes a row when a uniform falls below q, and the
 * accountant's amplification by sampling assumes exactly rate q — and the Gaussian noise
 * must be centred with unit variance. Loose statistical bounds (many standard errors), so
 * the test does not flake. Poisson sampling must pick each row with probability q alone.
 */
import { describe, expect, it } from 'vitest';
import { gaussian, poissonSample, uniform } from '../../src/ml/secure-random.ts';

const N = 100_000;

describe('DP-SGD randomness', () => {
  it('uniforms lie in (0, 1) with mean 1/2, variance 1/12, and P(u < q) = q', () => {
    let sum = 0;
    let sq = 0;
    let below = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < N; i++) {
      const u = uniform();
      sum += u;
      sq += u * u;
      if (u < 0.0625) below++;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    const mean = sum / N;
    expect(min).toBeGreaterThan(0);
    expect(max).toBeLessThan(1);
    expect(max).toBeGreaterThan(0.99);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(sq / N - mean * mean - 1 / 12)).toBeLessThan(0.005);
    expect(Math.abs(below / N - 0.0625)).toBeLessThan(0.005);
  });

  it('Gaussian draws have mean 0, variance 1 and both signs', () => {
    let sum = 0;
    let sq = 0;
    let negative = 0;
    for (let i = 0; i < N; i++) {
      const g = gaussian();
      sum += g;
      sq += g * g;
      if (g < 0) negative++;
    }
    expect(Math.abs(sum / N)).toBeLessThan(0.03);
    expect(Math.abs(sq / N - 1)).toBeLessThan(0.03);
    expect(Math.abs(negative / N - 0.5)).toBeLessThan(0.01);
  });

  it('Poisson sampling picks each row with probability q, independently, in order', () => {
    const m = 100;
    const q = 0.1;
    const trials = 20_000;
    const hits = new Array<number>(m).fill(0);
    let sizes = 0;
    let sizesSq = 0;
    let ordered = true;
    for (let t = 0; t < trials; t++) {
      let last = -1;
      let size = 0;
      for (const i of poissonSample(m, q)) {
        if (!(i > last && i < m)) ordered = false;
        last = i;
        hits[i] = (hits[i] as number) + 1;
        size++;
      }
      sizes += size;
      sizesSq += size * size;
    }
    expect(ordered).toBe(true);
    // Each row: Binomial(20000, 0.1), mean 2000, sd 42.
    for (const h of hits) expect(Math.abs(h - trials * q)).toBeLessThan(250);
    // Batch size: Binomial(100, 0.1), mean 10, variance 9.
    const mean = sizes / trials;
    expect(Math.abs(mean - m * q)).toBeLessThan(0.15);
    expect(Math.abs(sizesSq / trials - mean * mean - m * q * (1 - q))).toBeLessThan(0.6);
    expect([...poissonSample(5, 1)]).toEqual([0, 1, 2, 3, 4]);
  });
});
