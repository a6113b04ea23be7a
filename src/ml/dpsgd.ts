/**
 * DP-SGD (Abadi et al. 2016) for linear and logistic regression: each step samples rows
 * with probability q = batch_size / n (Poisson sampling, secret randomness), clips each
 * row's gradient to L2 norm `clip_norm`, adds Gaussian noise of standard deviation
 * σ·clip_norm to the sum, and takes a plain SGD step on the sum over q·n. σ is the smallest
 * noise multiplier for which the RDP accountant (accountant.ts) keeps the whole run within
 * the output's (ε, δ). For these models the per-row gradient has a closed form, so it is
 * computed directly rather than through autodiff: for logistic regression (p − y)·[x, 1],
 * for linear regression on the standardised label 2(ŷ − y)·[x, 1].
 *
 * Sampling and noise come from the operating system's CSPRNG (secure-random.ts: the
 * amplification by sampling assumes the batches are secret), so DP-SGD training is not
 * reproducible by design.
 *
 * Everything the output releases is covered by its (ε, δ), not only the weights: numeric
 * features (and a regressor's label) are encoded from their declared `bounds`, never from
 * the rows (the checker refuses one-hot features, whose vocabulary would come from the
 * rows); the number of training rows, which sets the sampling rate and the number of steps,
 * is a noisy count; and the validation metrics are noisy statistics (dp-metrics.ts). Those
 * two Gaussian queries get noise that alone would spend COUNT_SHARE and METRICS_SHARE of
 * ε, and are composed with the DP-SGD steps in RDP, so the whole release stays within ε.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ObscuraError } from '../common/errors.ts';
import { gaussianNoiseFor, gaussianRdp, noiseForEpsilon } from './accountant.ts';
import { mlBackend } from './backend.ts';
import { type DataColumn, encodedWidth, encodeLabels, encodeRows, fitEncoder } from './encode.ts';
import { noisyMetrics } from './dp-metrics.ts';
import { gaussian, poissonSample } from './secure-random.ts';
import { seededSplit } from './split.ts';
import {
  buildModel,
  type ModelKind,
  predict,
  rescaleOutput,
  type TrainedModel,
  type TrainOptions,
  taskOf,
} from './train.ts';

/** How a DP-SGD model was trained. */
export interface DpSgdReport {
  epsilon: number;
  delta: number;
  noiseMultiplier: number;
  clipNorm: number;
  sampleRate: number;
  steps: number;
}

/** Default per-row gradient clipping norm. */
export const DEFAULT_CLIP_NORM = 1;

/** Shares of ε whose noise the row count and the validation metrics get (composed with the steps in RDP). */
export const COUNT_SHARE = 0.03;
export const METRICS_SHARE = 0.15;

/** Train a linear or logistic regression with DP-SGD to spend at most (ε, δ). */
export async function trainDpSgd(args: {
  step: string;
  kind: ModelKind;
  features: DataColumn[];
  label: DataColumn;
  options: TrainOptions;
  epsilon: number;
  delta: number;
  clipNorm: number;
  minRows?: number;
  /** Runs between steps; throws to stop training (a job's deadline or cancellation). */
  checkpoint?: () => Promise<void>;
}): Promise<TrainedModel & { dpSgd: DpSgdReport }> {
  const { step, kind, features, label, options: o } = args;
  if (kind === 'mlp')
    throw new ObscuraError(
      'pipeline_dp_unsupported',
      `step ${step}: DP-SGD supports linear and logistic regression in this release`,
      400,
      { step },
    );
  const backend = await mlBackend();
  const n = label.values.length;
  const task = taskOf(kind, label.type);
  const labelBounds = o.bounds[label.name];
  if (task === 'regression' && !labelBounds) {
    throw new ObscuraError(
      'pipeline_dp_bounds_required',
      `step ${step}: DP-SGD needs bounds for the label ${label.name} (options.bounds)`,
      400,
      { step, column: label.name },
    );
  }
  const split = seededSplit(n, o.validationSplit, o.seed);
  const encoding = fitEncoder(features, split.train, o.maxCategories, step, args.minRows ?? 1, o.bounds);
  const unbounded = encoding.find((e) => e.kind === 'onehot' || (e.kind === 'numeric' && !e.bounds));
  if (unbounded) {
    // The checker refuses these first; here too, so nothing data-derived is ever released.
    throw new ObscuraError(
      'pipeline_dp_bounds_required',
      `step ${step}: under DP-SGD, feature ${unbounded.name} needs bounds (one-hot features are not supported)`,
      400,
      {
        step,
        column: unbounded.name,
      },
    );
  }
  const sCount = gaussianNoiseFor(COUNT_SHARE * args.epsilon, args.delta);
  const sMetrics = gaussianNoiseFor(METRICS_SHARE * args.epsilon, args.delta);
  const m = split.train.length;
  // The noisy count (sensitivity 1) decides everything that depends on how many rows there are.
  const mNoisy = m + sCount * gaussian();
  const minRows = Math.max(2, args.minRows ?? 1);
  if (mNoisy < minRows)
    throw new ObscuraError(
      'ml_too_few_rows',
      `step ${step}: too few rows to train on (fewer than min_group_size, by a noisy count)`,
      422,
      { step },
    );
  const d = encodedWidth(encoding);
  const x = encodeRows(encoding, features, split.train);
  let y = encodeLabels(label, split.train, task, step);
  let yMean = 0;
  let yStd = 1;
  if (task === 'regression' && labelBounds) {
    const [lo, hi] = labelBounds;
    yMean = (lo + hi) / 2;
    yStd = (hi - lo) / 2 || 1;
    y = y.map((v) => (Math.min(hi, Math.max(lo, v)) - yMean) / yStd);
  }
  const q = Math.min(1, o.batchSize / mNoisy);
  const steps = Math.max(1, Math.round(o.epochs / q));
  const sides = (alpha: number) => gaussianRdp(sCount, alpha) + gaussianRdp(sMetrics, alpha);
  const sigma = noiseForEpsilon(q, steps, args.epsilon, args.delta, sides);
  const w = new Float64Array(d + 1); // weights, then the bias
  const g = new Float64Array(d + 1);
  const C = args.clipNorm;
  for (let t = 0; t < steps; t++) {
    await args.checkpoint?.();
    g.fill(0);
    for (const i of poissonSample(m, q)) {
      let z = w[d] as number;
      for (let j = 0; j < d; j++) z += (w[j] as number) * (x[i * d + j] as number);
      const r =
        task === 'classification' ? 1 / (1 + Math.exp(-z)) - (y[i] as number) : 2 * (z - (y[i] as number));
      let norm2 = r * r;
      for (let j = 0; j < d; j++) norm2 += (r * (x[i * d + j] as number)) ** 2;
      const scale = Math.min(1, C / (Math.sqrt(norm2) || 1));
      for (let j = 0; j < d; j++) g[j] = (g[j] as number) + scale * r * (x[i * d + j] as number);
      g[d] = (g[d] as number) + scale * r;
    }
    for (let j = 0; j <= d; j++)
      w[j] = (w[j] as number) - (o.learningRate * ((g[j] as number) + sigma * C * gaussian())) / (q * mNoisy);
  }
  const model = buildModel(kind, task, d, o);
  const kernel = tf.tensor2d(Array.from(w.subarray(0, d)), [d, 1]);
  const bias = tf.tensor1d([w[d] as number]);
  model.layers[model.layers.length - 1]?.setWeights([kernel, bias]);
  kernel.dispose();
  bias.dispose();
  if (task === 'regression') rescaleOutput(model, yMean, yStd);
  const evalIdx = split.validation.length ? split.validation : split.train;
  const pred = predict(model, encodeRows(encoding, features, evalIdx), d);
  const scored = noisyMetrics(task, pred, encodeLabels(label, evalIdx, task, step), sMetrics, labelBounds);
  return {
    step,
    kind,
    task,
    backend,
    features: features.map((f) => f.name),
    label: label.name,
    encoding,
    model,
    lossCurve: [],
    valLossCurve: [],
    epochs: o.epochs,
    rows: { train: Math.max(0, Math.round(mNoisy)), validation: split.validation.length ? scored.rows : 0 },
    metrics: scored.metrics,
    dpSgd: {
      epsilon: args.epsilon,
      delta: args.delta,
      noiseMultiplier: sigma,
      clipNorm: C,
      sampleRate: q,
      steps,
    },
  };
}
