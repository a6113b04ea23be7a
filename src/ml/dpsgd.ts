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
 * Sampling and noise come from the operating system's CSPRNG (the amplification by
 * sampling assumes the batches are secret), so DP-SGD training is not reproducible by
 * design. The Gaussian noise is drawn in floating point (Box–Muller on 53-bit uniforms),
 * as in the standard DP-SGD libraries. What the DP guarantee covers is the weights; the
 * feature encoding (means, standard deviations, one-hot vocabularies of categories with at
 * least min_group_size rows) and the validation metrics are computed exactly, as for
 * every model, and protected by min_group_size only.
 */
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { ObscuraError } from '../common/errors.ts';
import { noiseForEpsilon } from './accountant.ts';
import { mlBackend } from './backend.ts';
import { type DataColumn, encodedWidth, encodeLabels, encodeRows, fitEncoder } from './encode.ts';
import { seededSplit } from './split.ts';
import { buildModel, metricsOf, type ModelKind, predict, rescaleOutput, type TrainedModel, type TrainOptions, taskOf } from './train.ts';

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

/** A uniform draw in (0, 1) from 53 CSPRNG bits: 27 high bits · 2^26 + 26 low bits. */
export function uniform(): number {
  const b = randomBytes(8);
  const hi = b.readUInt32BE(0) >>> 5;
  const lo = b.readUInt32BE(4) >>> 6;
  return (hi * 2 ** 26 + lo + 0.5) / 2 ** 53;
}

/**
 * Poisson sampling: each of rows 0..m-1 independently with probability q, in order. The
 * gaps between chosen rows are drawn as geometric variables (⌊ln U / ln(1 − q)⌋), which has
 * the same distribution as one Bernoulli(q) per row but costs O(q·m) draws, not O(m).
 */
export function* poissonSample(m: number, q: number): Generator<number> {
  if (q >= 1) {
    for (let i = 0; i < m; i++) yield i;
    return;
  }
  const log1mq = Math.log1p(-q);
  for (let i = Math.floor(Math.log(uniform()) / log1mq); i < m; i += 1 + Math.floor(Math.log(uniform()) / log1mq)) yield i;
}

/** A standard normal draw (Box–Muller on two CSPRNG uniforms). */
export function gaussian(): number {
  return Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

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
}): Promise<TrainedModel & { dpSgd: DpSgdReport }> {
  const { step, kind, features, label, options: o } = args;
  if (kind === 'mlp') throw new ObscuraError('pipeline_dp_unsupported', `step ${step}: DP-SGD supports linear and logistic regression in this release`, 400, { step });
  const backend = await mlBackend();
  const n = label.values.length;
  const minRows = Math.max(2, args.minRows ?? 1);
  if (n < minRows) throw new ObscuraError('ml_too_few_rows', `step ${step}: ${n} rows to train on, fewer than the ${minRows} required`, 422, { step });
  const task = taskOf(kind, label.type);
  const split = seededSplit(n, o.validationSplit, o.seed);
  const encoding = fitEncoder(features, split.train, o.maxCategories, step, args.minRows ?? 1);
  const d = encodedWidth(encoding);
  const x = encodeRows(encoding, features, split.train);
  let y = encodeLabels(label, split.train, task, step);
  let yMean = 0;
  let yStd = 1;
  if (task === 'regression') {
    yMean = y.reduce((a, b) => a + b, 0) / y.length;
    yStd = Math.sqrt(y.reduce((a, b) => a + (b - yMean) ** 2, 0) / y.length) || 1;
    y = y.map((v) => (v - yMean) / yStd);
  }
  const m = split.train.length;
  const q = Math.min(1, o.batchSize / m);
  const steps = Math.max(1, Math.round((o.epochs * m) / Math.max(1, o.batchSize)));
  const sigma = noiseForEpsilon(q, steps, args.epsilon, args.delta);
  const w = new Float64Array(d + 1); // weights, then the bias
  const g = new Float64Array(d + 1);
  const C = args.clipNorm;
  for (let t = 0; t < steps; t++) {
    g.fill(0);
    for (const i of poissonSample(m, q)) {
      let z = w[d] as number;
      for (let j = 0; j < d; j++) z += (w[j] as number) * (x[i * d + j] as number);
      const r = task === 'classification' ? 1 / (1 + Math.exp(-z)) - (y[i] as number) : 2 * (z - (y[i] as number));
      let norm2 = r * r;
      for (let j = 0; j < d; j++) norm2 += (r * (x[i * d + j] as number)) ** 2;
      const scale = Math.min(1, C / (Math.sqrt(norm2) || 1));
      for (let j = 0; j < d; j++) g[j] = (g[j] as number) + scale * r * (x[i * d + j] as number);
      g[d] = (g[d] as number) + scale * r;
    }
    for (let j = 0; j <= d; j++) w[j] = (w[j] as number) - (o.learningRate * ((g[j] as number) + sigma * C * gaussian())) / (q * m);
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
  const metrics = metricsOf(task, pred, encodeLabels(label, evalIdx, task, step));
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
    rows: { train: m, validation: split.validation.length },
    metrics,
    dpSgd: { epsilon: args.epsilon, delta: args.delta, noiseMultiplier: sigma, clipNorm: C, sampleRate: q, steps },
  };
}
