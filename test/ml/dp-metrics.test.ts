/**
 * The noisy validation metrics of DP-SGD (src/ml/dp-metrics.ts) and the noise the side
 * queries get (gaussianNoiseFor): without noise the statistics give the exact accuracy,
 * log-loss (at its DP clipping), RMSE, MAE and R², and AUC up to the score bins; the noise
 * is scaled by the vector's sensitivity; and the closed-form multiplier spends exactly the
 * asked epsilon over real orders.
 */
import { describe, expect, it } from 'vitest';
import { gaussianNoiseFor, gaussianRdp } from '../../src/ml/accountant.ts';
import { metricsSensitivity, noisyMetrics } from '../../src/ml/dp-metrics.ts';
import { accuracy, auc, logLoss, mae, r2, rmse } from '../../src/ml/metrics.ts';

const pred = [0.05, 0.3, 0.45, 0.62, 0.8, 0.97, 0.2, 0.7];
const y = [0, 0, 1, 1, 1, 1, 0, 0];

describe('noisy metrics', () => {
  it('with zero noise: exact accuracy and log-loss, AUC up to the bins, and the row count', () => {
    const { metrics, rows } = noisyMetrics('classification', pred, y, 5, undefined, () => 0);
    expect(rows).toBe(8);
    expect(metrics.accuracy).toBeCloseTo(accuracy(pred, y), 12);
    expect(metrics.log_loss).toBeCloseTo(logLoss(pred, y), 12);
    expect(Math.abs((metrics.auc as number) - auc(pred, y))).toBeLessThan(0.1);
  });

  it('a regressor clamps to the label bounds; with zero noise RMSE, MAE and R² are exact', () => {
    const t = [1, 2, 3, 4, 5];
    const p = [1.5, 1.8, 3.3, 3.9, 5.4];
    const { metrics } = noisyMetrics('regression', p, t, 5, [0, 10], () => 0);
    expect(metrics.rmse).toBeCloseTo(rmse(p, t), 12);
    expect(metrics.mae).toBeCloseTo(mae(p, t), 12);
    expect(metrics.r2).toBeCloseTo(r2(p, t), 12);
    const clamped = noisyMetrics('regression', [20], [5], 1, [0, 10], () => 0);
    expect(clamped.metrics.mae).toBeCloseTo(5, 12);
  });

  it('noise is the multiplier times the sensitivity (√4 for classifiers, √5 for regressors)', () => {
    expect(metricsSensitivity('classification')).toBe(2);
    expect(metricsSensitivity('regression')).toBeCloseTo(Math.sqrt(5), 12);
    // A unit draw on every entry: the row count moves by s × sensitivity.
    expect(noisyMetrics('classification', pred, y, 3, undefined, () => 1).rows).toBe(8 + 6);
  });
});

describe('side-query noise', () => {
  it('gaussianNoiseFor(ε, δ) spends ε at δ at the best real order, and more noise spends less', () => {
    for (const [eps, delta] of [
      [0.1, 1e-5],
      [0.5, 1e-6],
      [2, 1e-5],
    ] as const) {
      const s = gaussianNoiseFor(eps, delta);
      let best = Number.POSITIVE_INFINITY;
      for (let a = 1.001; a < 100_000; a *= 1.001)
        best = Math.min(best, gaussianRdp(s, a) + Math.log(1 / delta) / (a - 1));
      expect(best).toBeCloseTo(eps, 4);
      expect(gaussianNoiseFor(eps / 2, delta)).toBeGreaterThan(s);
    }
  });
});
