/**
 * Model quality metrics, written here because they are a few lines each and must be exact
 * and dependency-free inside the enclave: AUC (Mann–Whitney, ties counted half), accuracy
 * at 0.5, log-loss (probabilities clipped to [1e-7, 1 − 1e-7]), RMSE, MAE and R².
 */

/** Area under the ROC curve of scores against 0/1 labels; NaN without both classes. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k] as number] === 1) {
        pos++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
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
