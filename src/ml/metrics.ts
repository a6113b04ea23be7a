/**
 * Model quality metrics, written here because they are a few lines each and must be exact
 * and dependency-free inside the enclave: AUC (Mann–Whitney, ties counted half), accuracy
 * at 0.5, log-loss (probabilities clipped to [1e-7, 1 − 1e-7]), RMSE, MAE and R².
 */

/**
 * Area under the ROC curve of scores against 0/1 labels; NaN without both classes. The
 * Mann–Whitney count P(score of a positive > score of a negative), ties counted half, by
 * sorting each class's scores in a typed array and merging: a sort of an index array with a
 * comparator took most of a million-row exact fit's metrics time (measured).
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  let pos = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) pos++;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  const p = new Float64Array(pos);
  const q = new Float64Array(neg);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (labels[i] === 1) p[a++] = scores[i] as number;
    else q[b++] = scores[i] as number;
  }
  p.sort();
  q.sort();
  // For each positive (ascending): q[0, lo) are below it, q[lo, hi) equal to it.
  // `twice` counts 2 per negative below and 1 per tie, so it stays an exact integer.
  let twice = 0;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < pos; i++) {
    const s = p[i] as number;
    while (lo < neg && (q[lo] as number) < s) lo++;
    if (hi < lo) hi = lo;
    while (hi < neg && q[hi] === s) hi++;
    twice += 2 * lo + (hi - lo);
  }
  return twice / 2 / (pos * neg);
}

/** Share of labels predicted right at threshold 0.5. */
export function accuracy(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < probs.length; i++) if (((probs[i] as number) >= 0.5 ? 1 : 0) === labels[i]) right++;
  return right / probs.length;
}

/** Mean binary cross-entropy. */
export function logLoss(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probs[i] as number));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / probs.length;
}

/** Root mean squared error. */
export function rmse(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += ((pred[i] as number) - (y[i] as number)) ** 2;
  return Math.sqrt(s / pred.length);
}

/** Mean absolute error. */
export function mae(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += Math.abs((pred[i] as number) - (y[i] as number));
  return s / pred.length;
}

/** Coefficient of determination: 1 − SSE/SST. */
export function r2(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i] as number;
  mean /= y.length;
  let sse = 0;
  let sst = 0;
  for (let i = 0; i < y.length; i++) {
    sse += ((pred[i] as number) - (y[i] as number)) ** 2;
    sst += ((y[i] as number) - mean) ** 2;
  }
  return 1 - sse / sst;
}
