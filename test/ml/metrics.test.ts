/** The model metrics against published examples (scikit-learn's documentation) and edge cases. */
import { describe, expect, it } from 'vitest';
import { accuracy, auc, logLoss, mae, r2, rmse } from '../../src/ml/metrics.ts';

describe('metrics', () => {
  it('AUC: the roc_auc_score example is 0.75; ties count half; one class is NaN', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(auc([0.1, 0.9], [1, 1])).toBeNaN();
  });
  it('log-loss: the log_loss example is 0.21616', () => {
    // P(spam) for y = [spam, ham, ham, spam].
    expect(logLoss([0.9, 0.1, 0.2, 0.65], [1, 0, 0, 1])).toBeCloseTo(0.21616187468057912, 12);
    expect(Number.isFinite(logLoss([0, 1], [1, 0]))).toBe(true);
  });
  it('accuracy at 0.5', () => {
    expect(accuracy([0.9, 0.2, 0.6, 0.4], [1, 0, 0, 0])).toBe(0.75);
  });
  it('regression: the r2_score, mean_absolute_error and mean_squared_error examples', () => {
    const y = [3, -0.5, 2, 7];
    const p = [2.5, 0.0, 2, 8];
    expect(r2(p, y)).toBeCloseTo(0.9486081370449679, 12);
    expect(mae(p, y)).toBeCloseTo(0.5, 12);
    expect(rmse(p, y)).toBeCloseTo(Math.sqrt(0.375), 12);
  });
});
