/**
 * The validation metrics of a DP-SGD model, released with Gaussian noise so that the
 * output's (ε, δ) covers them as it covers the weights. One Gaussian query releases a
 * vector of statistics of the validation rows in which one row moves each entry by at
 * most 1 (after scaling), so its L2 sensitivity is √(entries one row touches):
 *
 * - classifier: the row count, the number predicted right, the log-loss sum over its
 *   maximum (probabilities clipped to [0.001, 0.999] here, so the maximum is −ln 0.001
 *   rather than −ln 1e-7: less noise), and score histograms by label (one bin) → √4;
 * - regressor (label and predictions clamped to the label's bounds [lo, hi]): the row
 *   count, Σe²/(hi−lo)², Σ|e|/(hi−lo), Σy/M, Σy²/M² with M = max(|lo|, |hi|) → √5.
 *
 * AUC is read from the noisy histograms (negative bins as 0, ties within a bin count
 * half), over bins equally wide in log-odds on [−4, 4] so that scores bunched near one
 * value still spread. The noise multiplier is the caller's, composed in the accountant.
 */
import { gaussian } from './secure-random.ts';

/** Score histogram bins for the noisy AUC. */
export const DP_SCORE_BINS = 10;
const P_MIN = 1e-3;
const LOG_LOSS_MAX = -Math.log(P_MIN);

function bin(p: number): number {
  const logit = Math.log(Math.max(1e-12, p) / Math.max(1e-12, 1 - p));
  return Math.min(DP_SCORE_BINS - 1, Math.max(0, Math.floor(((logit + 4) / 8) * DP_SCORE_BINS)));
}

/** L2 sensitivity of the statistics vector of a task. */
export function metricsSensitivity(task: 'classification' | 'regression'): number {
  return task === 'classification' ? 2 : Math.sqrt(5);
}

/**
 * Noisy metrics of predictions `pred` against labels `y` with noise multiplier `s` (noise
 * standard deviation s × sensitivity), and the noisy row count. A regressor needs `bounds`.
 */
export function noisyMetrics(
  task: 'classification' | 'regression',
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  s: number,
  bounds?: readonly [number, number],
  noise: () => number = gaussian,
): { metrics: Record<string, number>; rows: number } {
  const sd = s * metricsSensitivity(task);
  const add = (v: number) => v + sd * noise();
  const n = y.length;
  if (task === 'classification') {
    const pos = new Array<number>(DP_SCORE_BINS).fill(0);
    const neg = new Array<number>(DP_SCORE_BINS).fill(0);
    let correct = 0;
    let ll = 0;
    for (let i = 0; i < n; i++) {
      const p = pred[i] as number;
      const c = Math.min(1 - P_MIN, Math.max(P_MIN, p));
      const b = bin(p);
      if (y[i] === 1) {
        pos[b] = (pos[b] as number) + 1;
        ll -= Math.log(c);
      } else {
        neg[b] = (neg[b] as number) + 1;
        ll -= Math.log(1 - c);
      }
      if ((p >= 0.5 ? 1 : 0) === y[i]) correct++;
    }
    const rows = Math.max(1, add(n));
    const P = pos.map((v) => Math.max(0, add(v)));
    const N = neg.map((v) => Math.max(0, add(v)));
    const totalP = P.reduce((a, b) => a + b, 0);
    const totalN = N.reduce((a, b) => a + b, 0);
    let below = 0;
    let area = 0;
    for (let b = 0; b < DP_SCORE_BINS; b++) {
      area += (P[b] as number) * (below + 0.5 * (N[b] as number));
      below += N[b] as number;
    }
    return {
      metrics: {
        auc: totalP > 0 && totalN > 0 ? area / (totalP * totalN) : Number.NaN,
        accuracy: Math.min(1, Math.max(0, add(correct) / rows)),
        log_loss: Math.min(LOG_LOSS_MAX, Math.max(0, (add(ll / LOG_LOSS_MAX) * LOG_LOSS_MAX) / rows)),
      },
      rows: Math.round(rows),
    };
  }
  const [lo, hi] = bounds ?? [0, 1];
  const range = hi - lo || 1;
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  let sse = 0;
  let sae = 0;
  let sumY = 0;
  let sumY2 = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.min(hi, Math.max(lo, y[i] as number));
    const e = Math.min(hi, Math.max(lo, pred[i] as number)) - t;
    sse += e * e;
    sae += Math.abs(e);
    sumY += t;
    sumY2 += t * t;
  }
  const rows = Math.max(1, add(n));
  const sseN = Math.max(0, add(sse / range ** 2) * range ** 2);
  const sy = add(sumY / m) * m;
  const sst = add(sumY2 / m ** 2) * m ** 2 - (sy * sy) / rows;
  return {
    metrics: {
      rmse: Math.sqrt(sseN / rows),
      mae: Math.max(0, (add(sae / range) * range) / rows),
      r2: sst > 0 ? 1 - sseN / sst : Number.NaN,
    },
    rows: Math.round(rows),
  };
}
