/**
 * What federated training merges — never rows: the encoding statistics each worker computes
 * on its training rows (counts, sums, sums of squares, category counts), the model weights
 * each trains from the global ones (federated averaging, weighted by rows; McMahan et al.
 * 2017), and the validation statistics the metrics are computed from (score histograms by
 * label for AUC, sums for log-loss, accuracy and the regression errors).
 */
import { z } from 'zod';
import type { FeatureEncoding } from '../ml/encode.ts';

/** One worker's statistics of its training rows: per feature, and for the label. */
export const EncodingStatsSchema = z.object({
  features: z.array(
    z.union([
      z.object({
        name: z.string(),
        kind: z.literal('numeric'),
        n: z.number(),
        sum: z.number(),
        sumsq: z.number(),
      }),
      z.object({ name: z.string(), kind: z.literal('bool') }),
      z.object({ name: z.string(), kind: z.literal('onehot'), counts: z.record(z.string(), z.number()) }),
    ]),
  ),
  label: z.object({ n: z.number(), sum: z.number(), sumsq: z.number() }),
});
/** One worker's encoding statistics. */
export type EncodingStats = z.infer<typeof EncodingStatsSchema>;

/** The global encoding from every worker's statistics; categories rarer than `minCount` overall are left out. */
export function mergeEncoding(
  all: readonly EncodingStats[],
  minCount: number,
): { encoding: FeatureEncoding[]; labelMean: number; labelStd: number } {
  const first = all[0] as EncodingStats;
  const encoding = first.features.map((f, j): FeatureEncoding => {
    if (f.kind === 'numeric') {
      let n = 0;
      let sum = 0;
      let sumsq = 0;
      for (const s of all) {
        const g = s.features[j] as typeof f;
        n += g.n;
        sum += g.sum;
        sumsq += g.sumsq;
      }
      const mean = n ? sum / n : 0;
      const std = n ? Math.sqrt(Math.max(0, sumsq / n - mean * mean)) : 0;
      return { name: f.name, kind: 'numeric', mean, std: std > 0 ? std : 1 };
    }
    if (f.kind === 'bool') return { name: f.name, kind: 'bool' };
    const counts = new Map<string, number>();
    for (const s of all)
      for (const [v, c] of Object.entries((s.features[j] as typeof f).counts))
        counts.set(v, (counts.get(v) ?? 0) + c);
    return {
      name: f.name,
      kind: 'onehot',
      vocabulary: [...counts]
        .filter(([, c]) => c >= minCount)
        .map(([v]) => v)
        .sort(),
    };
  });
  const n = all.reduce((a, s) => a + s.label.n, 0);
  const mean = n ? all.reduce((a, s) => a + s.label.sum, 0) / n : 0;
  const sq = n ? all.reduce((a, s) => a + s.label.sumsq, 0) / n : 0;
  return { encoding, labelMean: mean, labelStd: Math.sqrt(Math.max(0, sq - mean * mean)) || 1 };
}

/** Model weights: one flat array per tensor, with its shape. */
export interface WeightSet {
  shapes: number[][];
  values: number[][];
}

/** Federated averaging: each tensor is the mean of the workers' tensors weighted by their training rows. */
export function federatedAverage(updates: readonly { weights: WeightSet; rows: number }[]): WeightSet {
  const total = updates.reduce((a, u) => a + u.rows, 0);
  const first = (updates[0] as { weights: WeightSet }).weights;
  return {
    shapes: first.shapes,
    values: first.values.map((v, t) => {
      const out = new Array<number>(v.length).fill(0);
      for (const u of updates) {
        const w = u.rows / total;
        const src = u.weights.values[t] as number[];
        for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + w * (src[i] as number);
      }
      return out;
    }),
  };
}

/** Bins of the score histograms AUC is merged from. */
export const SCORE_BINS = 1000;

/** One worker's validation statistics. */
export const EvalStatsSchema = z.union([
  z.object({
    task: z.literal('classification'),
    n: z.number(),
    pos: z.array(z.number()),
    neg: z.array(z.number()),
    logLoss: z.number(),
    correct: z.number(),
  }),
  z.object({
    task: z.literal('regression'),
    n: z.number(),
    sse: z.number(),
    sae: z.number(),
    sumY: z.number(),
    sumY2: z.number(),
  }),
]);
/** One worker's validation statistics. */
export type EvalStats = z.infer<typeof EvalStatsSchema>;

/** The statistics of predictions against labels that merge into the model's metrics. */
export function evalStats(
  task: 'classification' | 'regression',
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
): EvalStats {
  const n = y.length;
  if (task === 'classification') {
    const pos = new Array<number>(SCORE_BINS).fill(0);
    const neg = new Array<number>(SCORE_BINS).fill(0);
    let logLoss = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const p = pred[i] as number;
      const bin = Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(p * SCORE_BINS)));
      const c = Math.min(1 - 1e-7, Math.max(1e-7, p));
      if (y[i] === 1) {
        pos[bin] = (pos[bin] as number) + 1;
        logLoss -= Math.log(c);
      } else {
        neg[bin] = (neg[bin] as number) + 1;
        logLoss -= Math.log(1 - c);
      }
      if ((p >= 0.5 ? 1 : 0) === y[i]) correct++;
    }
    return { task, n, pos, neg, logLoss, correct };
  }
  let sse = 0;
  let sae = 0;
  let sumY = 0;
  let sumY2 = 0;
  for (let i = 0; i < n; i++) {
    const e = (pred[i] as number) - (y[i] as number);
    sse += e * e;
    sae += Math.abs(e);
    sumY += y[i] as number;
    sumY2 += (y[i] as number) ** 2;
  }
  return { task, n, sse, sae, sumY, sumY2 };
}

/** The metrics of all workers' validation rows together. AUC is exact up to the score histogram's bins. */
export function mergeMetrics(all: readonly EvalStats[]): Record<string, number> {
  const n = all.reduce((a, s) => a + s.n, 0);
  const first = all[0] as EvalStats;
  if (first.task === 'classification') {
    const c = all as Extract<EvalStats, { task: 'classification' }>[];
    const pos = first.pos.map((_, b) => c.reduce((a, s) => a + (s.pos[b] as number), 0));
    const neg = first.neg.map((_, b) => c.reduce((a, s) => a + (s.neg[b] as number), 0));
    const P = pos.reduce((a, b) => a + b, 0);
    const N = neg.reduce((a, b) => a + b, 0);
    let below = 0;
    let area = 0;
    for (let b = 0; b < SCORE_BINS; b++) {
      area += (pos[b] as number) * (below + 0.5 * (neg[b] as number));
      below += neg[b] as number;
    }
    return {
      auc: P && N ? area / (P * N) : Number.NaN,
      accuracy: c.reduce((a, s) => a + s.correct, 0) / n,
      log_loss: c.reduce((a, s) => a + s.logLoss, 0) / n,
    };
  }
  const r = all as Extract<EvalStats, { task: 'regression' }>[];
  const sse = r.reduce((a, s) => a + s.sse, 0);
  const sumY = r.reduce((a, s) => a + s.sumY, 0);
  const sst = r.reduce((a, s) => a + s.sumY2, 0) - (sumY * sumY) / n;
  return { rmse: Math.sqrt(sse / n), mae: r.reduce((a, s) => a + s.sae, 0) / n, r2: 1 - sse / sst };
}
