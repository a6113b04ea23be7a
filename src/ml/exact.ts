/**
 * Exact fits of linear and logistic regression over the whole training split, in plain
 * typed-array code (`options.solver: exact`, the default for these models without DP):
 * linear regression by the normal equations (Cholesky, dependent columns dropped: see
 * linalg.ts), logistic regression by Newton's method (IRLS) on the objective
 *   Σ log-loss_i + ½ Σ_j w_j²
 * — scikit-learn's default `LogisticRegression()` penalty (L2, C = 1, intercept not
 * penalised) on the encoded features — which keeps the problem strictly convex, so
 * separable classes still have one answer. The rows, split and encoding are trainModel's
 * (train.ts), and the result is the same kind of TrainedModel, carrying a TensorFlow.js
 * model with the solved weights, so weights, scoring and the result format do not change.
 * A failure (too few rows, a label a model cannot take, Newton's method not converging) is
 * an ObscuraError that the enclave turns into its one data-free failure.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ObscuraError } from '../common/errors.ts';
import { mlBackend } from './backend.ts';
import { encodeColumns, encodedWidth, encodeLabels } from './encode.ts';
import { linearPredictor, solveDropping, transposeTimes, weightedGram } from './linalg.ts';
import {
  buildModel,
  metricsOf,
  type ModelKind,
  type TrainArgs,
  type TrainedModel,
  type TrainOptions,
  trainingSetup,
} from './train.ts';

/** The backend name an exact fit reports (the model it releases is still a TensorFlow.js model). */
export const EXACT_BACKEND = 'exact';
/** Newton iterations before a logistic fit counts as not converging. */
export const MAX_NEWTON_ITERATIONS = 50;
/** The L2 penalty of the logistic fit, ½·L2·‖w‖² (scikit-learn's default: C = 1). */
export const LOGISTIC_L2 = 1;

type Checkpoint = (() => Promise<void>) | undefined;

/** Fit `kind` (linear or logistic regression) exactly; the same contract as trainModel. */
export async function trainExact(args: TrainArgs): Promise<TrainedModel> {
  const { step, kind, features, label, options: o, checkpoint } = args;
  if (kind === 'mlp') throw new RangeError('trainExact: an mlp has no exact fit');
  // The backend is loaded for the TensorFlow.js model that carries the weights.
  await mlBackend();
  const { n, task, split, encoding } = trainingSetup(args);
  const p = encodedWidth(encoding);
  // Rows in their original order (a full-batch fit needs no other): 0 trains, 1 validates.
  const mask = new Uint8Array(n);
  for (const i of split.validation) mask[i] = 1;
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < n; i++) (mask[i] ? valIdx : trainIdx).push(i);
  const xTrain = encodeColumns(encoding, features, mask, 0, trainIdx.length);
  const xVal = encodeColumns(encoding, features, mask, 1, valIdx.length);
  const yTrain = encodeLabels(label, trainIdx, task, step);
  const yVal = encodeLabels(label, valIdx, task, step);
  const labelBounds = task === 'regression' ? o.bounds[label.name] : undefined;
  if (labelBounds) {
    const [lo, hi] = labelBounds;
    for (const y of [yTrain, yVal])
      for (let i = 0; i < y.length; i++) y[i] = Math.min(hi, Math.max(lo, y[i] as number));
  }
  const fit =
    task === 'regression'
      ? await leastSquares(xTrain, yTrain, checkpoint)
      : await newton(xTrain, yTrain, xVal, yVal, step, checkpoint);
  const hasVal = valIdx.length > 0;
  const [xEval, yEval] = hasVal ? [xVal, yVal] : [xTrain, yTrain];
  const pred = predictWith(fit.beta, xEval, yEval.length, task);
  const valLossCurve =
    task === 'regression' ? (hasVal ? [meanSquared(fit.beta, xVal, yVal) / fit.scale] : []) : fit.valLoss;
  return {
    step,
    kind,
    task,
    backend: EXACT_BACKEND,
    features: features.map((f) => f.name),
    label: label.name,
    encoding,
    model: modelWith(kind, task, p, o, fit.beta),
    lossCurve: fit.loss,
    valLossCurve,
    epochs: fit.loss.length,
    rows: { train: trainIdx.length, validation: valIdx.length },
    metrics: { ...metricsOf(task, pred, yEval), loss: fit.loss[fit.loss.length - 1] ?? Number.NaN },
  };
}

interface Fit {
  /** [intercept, ...weights] on the encoded features. */
  beta: Float64Array;
  /** The training loss after each pass (for a regressor: MSE over the label's variance). */
  loss: number[];
  /** The validation loss after each pass (logistic only). */
  valLoss: number[];
  /** A regressor's label variance (losses are divided by it, as if the label were standardised). */
  scale: number;
}

/** Ordinary least squares by the normal equations: one pass for ZᵀZ and Zᵀy, one for the loss. */
async function leastSquares(x: Float32Array[], y: Float32Array, checkpoint: Checkpoint): Promise<Fit> {
  const n = y.length;
  const y64 = Float64Array.from(y);
  const gram = await weightedGram(x, n, undefined, checkpoint);
  const { x: beta } = solveDropping(gram, transposeTimes(x, n, y64), x.length + 1);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y64[i] as number;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += ((y64[i] as number) - mean) ** 2;
  const scale = variance / n || 1;
  const mse = meanSquared(beta, x, y);
  if (!Number.isFinite(mse)) throw notConverged();
  return { beta, loss: [mse / scale], valLoss: [], scale };
}

/** Mean squared error of the linear predictor `beta` on rows (x columns, y). */
function meanSquared(beta: Float64Array, x: Float32Array[], y: Float32Array): number {
  const t = linearPredictor(x, y.length, beta, new Float64Array(y.length));
  let s = 0;
  for (let i = 0; i < y.length; i++) s += ((t[i] as number) - (y[i] as number)) ** 2;
  return s / y.length;
}

const sigmoid = (t: number) => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));

/** −log p(y | t) for a logit t, stable for large |t|. */
const logLossOf = (t: number, y: number) => Math.max(t, 0) - t * y + Math.log1p(Math.exp(-Math.abs(t)));

/**
 * L2-penalised logistic regression by Newton's method from zero. Each pass computes the
 * loss, gradient and Hessian at the current weights; a step that raised the penalised loss
 * is halved instead (so the method cannot diverge), and the fit has converged when the
 * Newton step changes no weight by more than 1e-8.
 */
async function newton(
  x: Float32Array[],
  y: Float32Array,
  xVal: Float32Array[],
  yVal: Float32Array,
  step: string,
  checkpoint: Checkpoint,
): Promise<Fit> {
  const n = y.length;
  // One class only: the unpenalised intercept would run off to infinity.
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] as number;
  if (positives === 0 || positives === n)
    throw new ObscuraError('ml_label_invalid', `step ${step}: the label has one class only`, 422, { step });
  const start = await warmStart(x, y, step, checkpoint);
  return newtonFrom(start, x, y, xVal, yVal, LOGISTIC_L2, 1e-8, step, checkpoint);
}

/** Rows per subsample row of the warm start, and the fewest rows that make one worth it. */
const STRIDE = 8;
const WARM_START_ROWS = 100_000;

/**
 * A starting point for Newton's method on many rows: the same fit on every STRIDE-th row
 * (the penalty scaled alike), to a loose tolerance. Each full Newton pass costs a Hessian
 * over all rows; from this start two or three reach the optimum, against five to seven
 * from zero. The objective is strictly convex, so the start changes the time, not the
 * answer; a subsample that cannot be fitted (one class only) just means starting at zero.
 */
async function warmStart(x: Float32Array[], y: Float32Array, step: string, checkpoint: Checkpoint) {
  const zero = new Float64Array(x.length + 1);
  if (y.length < WARM_START_ROWS) return zero;
  const m = Math.floor(y.length / STRIDE);
  let positives = 0;
  for (let i = 0; i < m; i++) positives += y[i * STRIDE] as number;
  if (positives === 0 || positives === m) return zero;
  const pick = <T extends Float32Array>(a: T) =>
    Float32Array.from({ length: m }, (_, i) => a[i * STRIDE] as number);
  try {
    const fit = await newtonFrom(
      zero,
      x.map(pick),
      pick(y),
      [],
      new Float32Array(0),
      LOGISTIC_L2 / STRIDE,
      1e-4,
      step,
      checkpoint,
    );
    return fit.beta;
  } catch (e) {
    if ((e as { code?: string }).code === 'ml_not_converged') return zero;
    throw e;
  }
}

/**
 * A Newton step this small (largest weight change) is close enough to the optimum that the
 * Hessian barely changes any more: the steps after it reuse that Hessian (chord steps).
 */
const FREEZE_BELOW = 0.05;

/**
 * Newton's method from `start` with penalty `l2`, until no weight moves by more than `tol`.
 *
 * The Hessian costs ten times a gradient (p(p+1)/2 products per row against p), so once a
 * full Newton step is small the next steps reuse its Hessian: near the optimum each such
 * chord step still shrinks the error by about the size of the last step (two or three
 * reach 1e-8 where one more Newton pass would), at the cost of a gradient each. A chord step
 * that shrinks too slowly, or goes uphill, brings back a fresh Hessian, so the result is the
 * same optimum (the objective is strictly convex) and only the work changes.
 */
async function newtonFrom(
  start: Float64Array,
  x: Float32Array[],
  y: Float32Array,
  xVal: Float32Array[],
  yVal: Float32Array,
  l2: number,
  tol: number,
  step: string,
  checkpoint: Checkpoint,
): Promise<Fit> {
  const n = y.length;
  const q = x.length + 1;
  let beta = start;
  let previous: { beta: Float64Array; objective: number; delta: Float64Array; chord: boolean } | undefined;
  // The Hessian chord steps reuse, once a full Newton step was small.
  let frozen: Float64Array | null = null;
  const loss: number[] = [];
  const valLoss: number[] = [];
  const t = new Float64Array(n);
  const w = new Float64Array(n);
  const r = new Float64Array(n);
  const largest = (v: Float64Array) => Math.max(...v.map(Math.abs));
  for (let iteration = 0; iteration < MAX_NEWTON_ITERATIONS; iteration++) {
    await checkpoint?.();
    linearPredictor(x, n, beta, t);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const ti = t[i] as number;
      const yi = y[i] as number;
      // sigmoid and log-loss from one exp (as `sigmoid` and `logLossOf` compute them).
      const e = Math.exp(-Math.abs(ti));
      const pi = ti >= 0 ? 1 / (1 + e) : e / (1 + e);
      w[i] = pi * (1 - pi);
      r[i] = pi - yi;
      sum += Math.max(ti, 0) - ti * yi + Math.log1p(e);
    }
    let penalty = 0;
    for (let j = 1; j < q; j++) penalty += (beta[j] as number) ** 2;
    const objective = sum + (l2 / 2) * penalty;
    if (!Number.isFinite(objective)) throw notConverged(step);
    if (previous && objective > previous.objective + 1e-9 * (1 + Math.abs(previous.objective))) {
      if (previous.chord) {
        // A chord step went uphill: go back and take a full Newton step from there.
        frozen = null;
        beta = previous.beta;
        previous = undefined;
        continue;
      }
      // The full step went uphill: go back and take half of it.
      const half = previous.delta.map((d) => d / 2);
      if (largest(half) < 1e-10) return { beta: previous.beta, loss, valLoss, scale: 1 };
      beta = previous.beta.map((b, j) => b - (half[j] as number));
      previous = { ...previous, delta: half };
      continue;
    }
    loss.push(sum / n);
    if (yVal.length > 0) valLoss.push(logLossAt(beta, xVal, yVal));
    const grad = transposeTimes(x, n, r);
    for (let j = 1; j < q; j++) grad[j] = (grad[j] as number) + l2 * (beta[j] as number);
    // At the optimum already (the gradient of the mean loss under 1e-10): no Hessian needed.
    if (largest(grad) < 1e-10 * n) return { beta, loss, valLoss, scale: 1 };
    let delta: Float64Array | null = frozen ? solveDropping(frozen, grad, q).x : null;
    const chord = delta !== null && !(previous?.chord && largest(delta) > 0.25 * largest(previous.delta));
    if (!chord) {
      const gram = await weightedGram(x, n, w, checkpoint);
      for (let j = 1; j < q; j++) gram[j * q + j] = (gram[j * q + j] as number) + l2;
      delta = solveDropping(gram, grad, q).x;
      frozen = largest(delta) < FREEZE_BELOW ? gram : null;
    }
    const d = delta as Float64Array;
    if (!d.every(Number.isFinite)) throw notConverged(step);
    const next = beta.map((b, j) => b - (d[j] as number));
    if (largest(d) < tol) return { beta: next, loss, valLoss, scale: 1 };
    previous = { beta, objective, delta: d, chord };
    beta = next;
  }
  throw notConverged(step);
}

/** Mean log-loss of the logistic model `beta` on rows (x columns, y). */
function logLossAt(beta: Float64Array, x: Float32Array[], y: Float32Array): number {
  const t = linearPredictor(x, y.length, beta, new Float64Array(y.length));
  let s = 0;
  for (let i = 0; i < y.length; i++) s += logLossOf(t[i] as number, y[i] as number);
  return s / y.length;
}

function notConverged(step?: string): ObscuraError {
  return new ObscuraError('ml_not_converged', `step ${step ?? '?'}: the exact fit did not converge`, 422, {
    ...(step ? { step } : {}),
  });
}

/** Predictions (probabilities or values) of `beta` on `rows` rows given by columns. */
function predictWith(
  beta: Float64Array,
  x: Float32Array[],
  rows: number,
  task: 'classification' | 'regression',
): Float32Array {
  const t = linearPredictor(x, rows, beta, new Float64Array(rows));
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++)
    out[i] = task === 'classification' ? sigmoid(t[i] as number) : (t[i] as number);
  return out;
}

/** The TensorFlow.js model of `kind` with weights `beta` (what is released and scores new rows). */
function modelWith(
  kind: ModelKind,
  task: 'classification' | 'regression',
  p: number,
  o: TrainOptions,
  beta: Float64Array,
): tfl.LayersModel {
  const model = buildModel(kind, task, p, o);
  const layer = model.layers[model.layers.length - 1] as tfl.layers.Layer;
  const weights = [
    tf.tensor2d(Float32Array.from(beta.subarray(1)), [p, 1]),
    tf.tensor1d([beta[0] as number]),
  ];
  layer.setWeights(weights);
  for (const t of weights) t.dispose();
  return model;
}
