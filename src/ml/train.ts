/**
 * Training inside the enclave with TensorFlow.js: a seeded split, encoding fitted on the
 * training rows, a linear, logistic or MLP model with seeded initial weights, Adam, and
 * early stopping on the validation loss. Rows are fed in their seeded order (tfjs's own
 * shuffle draws from Math.random), so on one backend the same rows and options give the
 * same weights. A regressor learns a standardised label; its output layer is then rescaled,
 * so the released model predicts the label in its own units.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ObscuraError } from '../common/errors.ts';
import { mlBackend } from './backend.ts';
import { batchDataset, predictRows } from './batches.ts';
import {
  type DataColumn,
  DEFAULT_MAX_CATEGORIES,
  encodedWidth,
  encodeLabels,
  encodeParts,
  encodeRows,
  type FeatureEncoding,
  fitEncoder,
} from './encode.ts';
import { accuracy, auc, logLoss, mae, r2, rmse } from './metrics.ts';
import { seededSplit } from './split.ts';

/** The model kinds of a train step. */
export type ModelKind = 'linear_regression' | 'logistic_regression' | 'mlp';

/** A train step's options, with defaults filled in. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  validationSplit: number;
  hiddenUnits: number[];
  activation: 'relu' | 'tanh' | 'sigmoid';
  seed: number;
  patience: number;
  maxCategories: number;
  /** Declared [low, high] of numeric columns: such a feature (or regressor's label) is clamped and scaled by them, not by its rows. */
  bounds: Record<string, [number, number]>;
}

/** Defaults of a train step's options. */
export const TRAIN_DEFAULTS: TrainOptions = {
  epochs: 50,
  batchSize: 64,
  learningRate: 0.01,
  validationSplit: 0.2,
  hiddenUnits: [32],
  activation: 'relu',
  seed: 42,
  patience: 5,
  maxCategories: DEFAULT_MAX_CATEGORIES,
  bounds: {},
};

/** A trained model with what it needs to score new rows. */
export interface TrainedModel {
  step: string;
  kind: ModelKind;
  task: 'classification' | 'regression';
  backend: string;
  features: string[];
  label: string;
  encoding: FeatureEncoding[];
  model: tfl.LayersModel;
  lossCurve: number[];
  valLossCurve: number[];
  epochs: number;
  rows: { train: number; validation: number };
  /** Metrics on the validation rows (the training rows when there are none). */
  metrics: Record<string, number>;
}

/** Classification for logistic regression and for an MLP with a boolean label; else regression. */
export function taskOf(kind: ModelKind, labelType: string): 'classification' | 'regression' {
  if (kind === 'logistic_regression') return 'classification';
  if (kind === 'linear_regression') return 'regression';
  return labelType === 'bool' ? 'classification' : 'regression';
}

/** A compiled model of `kind` for `width` inputs, with seeded initial weights and fixed layer names. */
export function buildModel(
  kind: ModelKind,
  task: 'classification' | 'regression',
  width: number,
  o: TrainOptions,
): tfl.LayersModel {
  // Fixed names (tfjs numbers unnamed layers process-wide), so the same training gives the same weights file.
  const model = tfl.sequential({ name: `obscura_${kind}` });
  const hidden = kind === 'mlp' ? o.hiddenUnits : [];
  hidden.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        name: `hidden_${i + 1}`,
        units,
        activation: o.activation,
        ...(i === 0 ? { inputShape: [width] } : {}),
        kernelInitializer: tfl.initializers.glorotUniform({ seed: o.seed + i }),
        biasInitializer: 'zeros',
      }),
    );
  });
  model.add(
    tfl.layers.dense({
      name: 'output',
      units: 1,
      activation: task === 'classification' ? 'sigmoid' : 'linear',
      ...(hidden.length === 0 ? { inputShape: [width] } : {}),
      kernelInitializer: tfl.initializers.glorotUniform({ seed: o.seed + hidden.length }),
      biasInitializer: 'zeros',
    }),
  );
  model.compile({
    optimizer: tf.train.adam(o.learningRate),
    loss: task === 'classification' ? 'binaryCrossentropy' : 'meanSquaredError',
  });
  return model;
}

/** Predictions (probabilities or values) of `model` on an n × width matrix, in chunks. */
export const predict = predictRows;

/** The metrics of predictions against labels, by task, in lower snake case. */
export function metricsOf(
  task: 'classification' | 'regression',
  pred: Float32Array,
  y: Float32Array,
): Record<string, number> {
  if (task === 'classification')
    return { auc: auc(pred, y), accuracy: accuracy(pred, y), log_loss: logLoss(pred, y) };
  return { rmse: rmse(pred, y), mae: mae(pred, y), r2: r2(pred, y) };
}

/** What a fit is given, whichever solver. */
export interface TrainArgs {
  step: string;
  kind: ModelKind;
  features: DataColumn[];
  label: DataColumn;
  options: TrainOptions;
  minRows?: number;
  /** Runs between batches; throws to stop training (a job's deadline or cancellation). */
  checkpoint?: () => Promise<void>;
}

/**
 * What every fit starts from, whichever solver: the row count checked against the smallest
 * trainable set (a data-free message: the count is never named), the task the label gives,
 * the seeded train/validation split and the encoder fitted on the training rows.
 */
export function trainingSetup(args: TrainArgs): {
  n: number;
  task: 'classification' | 'regression';
  split: ReturnType<typeof seededSplit>;
  encoding: ReturnType<typeof fitEncoder>;
} {
  const { step, kind, features, label, options: o } = args;
  const n = label.values.length;
  const minRows = Math.max(2, args.minRows ?? 1);
  if (n < minRows)
    throw new ObscuraError(
      'ml_too_few_rows',
      `step ${step}: too few rows to train on (fewer than min_group_size)`,
      422,
      { step },
    );
  const task = taskOf(kind, label.type);
  const split = seededSplit(n, o.validationSplit, o.seed);
  const encoding = fitEncoder(features, split.train, o.maxCategories, step, args.minRows ?? 1, o.bounds);
  return { n, task, split, encoding };
}

/** Fit a model on `features` → `label` (columns of equal length). Throws ObscuraError naming the step. */
export async function trainModel(args: TrainArgs): Promise<TrainedModel> {
  const { step, kind, features, label, options: o, checkpoint } = args;
  const backend = await mlBackend();
  const { task, split, encoding } = trainingSetup(args);
  const width = encodedWidth(encoding);
  const [xTrain, xVal] = encodeParts(encoding, features, [split.train, split.validation]) as [
    Float32Array,
    Float32Array,
  ];
  const yTrain = encodeLabels(label, split.train, task, step);
  const yVal = encodeLabels(label, split.validation, task, step);
  // Regressors learn (y − mean) / std; the output layer is rescaled after training.
  let yMean = 0;
  let yStd = 1;
  const labelBounds = task === 'regression' ? o.bounds[label.name] : undefined;
  if (labelBounds) {
    yMean = (labelBounds[0] + labelBounds[1]) / 2;
    yStd = (labelBounds[1] - labelBounds[0]) / 2 || 1;
  } else if (task === 'regression') {
    yMean = yTrain.reduce((a, b) => a + b, 0) / yTrain.length;
    yStd = Math.sqrt(yTrain.reduce((a, b) => a + (b - yMean) ** 2, 0) / yTrain.length) || 1;
  }
  const clamp = (v: number) => (labelBounds ? Math.min(labelBounds[1], Math.max(labelBounds[0], v)) : v);
  const scale = (y: Float32Array) => (task === 'regression' ? y.map((v) => (clamp(v) - yMean) / yStd) : y);
  const model = buildModel(kind, task, width, o);
  const hasVal = split.validation.length > 0;
  // Batches from subarrays, not fit(x, y): see batches.ts for what fit's slicing costs.
  const history = await model.fitDataset(
    batchDataset(xTrain, scale(yTrain), width, o.batchSize, checkpoint),
    {
      epochs: o.epochs,
      verbose: 0,
      ...(hasVal ? { validationData: batchDataset(xVal, scale(yVal), width, o.batchSize, checkpoint) } : {}),
      callbacks: [
        tfl.callbacks.earlyStopping({ monitor: hasVal ? 'val_loss' : 'loss', patience: o.patience }),
      ],
    },
  );
  if (task === 'regression') rescaleOutput(model, yMean, yStd);
  const [xEval, yEval] = hasVal ? [xVal, yVal] : [xTrain, yTrain];
  const pred = predict(model, xEval, width);
  const lossCurve = (history.history.loss ?? []).map(Number);
  const valLossCurve = (history.history.val_loss ?? []).map(Number);
  const metrics = { ...metricsOf(task, pred, yEval), loss: lossCurve[lossCurve.length - 1] ?? Number.NaN };
  return {
    step,
    kind,
    task,
    backend,
    features: features.map((f) => f.name),
    label: label.name,
    encoding,
    model,
    lossCurve,
    valLossCurve,
    epochs: lossCurve.length,
    rows: { train: split.train.length, validation: split.validation.length },
    metrics,
  };
}

/** Fold y = y'·std + mean into the last dense layer, so the model predicts in the label's units. */
export function rescaleOutput(model: tfl.LayersModel, mean: number, std: number): void {
  const last = model.layers[model.layers.length - 1] as tfl.layers.Layer;
  const [kernel, bias] = last.getWeights();
  if (!kernel || !bias) return;
  const next = tf.tidy(() => [tf.mul(kernel, std), tf.add(tf.mul(bias, std), mean)]);
  last.setWeights(next);
  for (const t of next) t.dispose();
}

/** Score a trained model on other rows (same feature and label columns). */
export function scoreModel(
  trained: TrainedModel,
  features: DataColumn[],
  label: DataColumn,
  step: string,
): Record<string, number> {
  const idx = Array.from({ length: label.values.length }, (_, i) => i);
  if (idx.length === 0)
    throw new ObscuraError('ml_too_few_rows', `step ${step}: too few rows to evaluate on`, 422, { step });
  const width = encodedWidth(trained.encoding);
  const pred = predict(trained.model, encodeRows(trained.encoding, features, idx), width);
  return metricsOf(trained.task, pred, encodeLabels(label, idx, trained.task, step));
}

/** A model's weights as flat arrays with their shapes (what federated averaging moves). */
export function getWeightSet(model: tfl.LayersModel): { shapes: number[][]; values: number[][] } {
  const ws = model.getWeights();
  return { shapes: ws.map((w) => w.shape), values: ws.map((w) => Array.from(w.dataSync())) };
}

/** Set a model's weights from flat arrays with their shapes. */
export function setWeightSet(model: tfl.LayersModel, set: { shapes: number[][]; values: number[][] }): void {
  const ts = set.values.map((v, i) => tf.tensor(v, set.shapes[i] as number[]));
  model.setWeights(ts);
  for (const t of ts) t.dispose();
}

/**
 * Train `model` further on rows x (n × width) and labels y for `epochs`, in order; `checkpoint`
 * runs before every batch (a job's guard: it throws to stop). Returns the last loss.
 */
export async function fitMore(
  model: tfl.LayersModel,
  x: Float32Array,
  y: Float32Array,
  width: number,
  epochs: number,
  batchSize: number,
  checkpoint?: () => Promise<void>,
): Promise<number> {
  const h = await model.fitDataset(batchDataset(x, y, width, batchSize, checkpoint), { epochs, verbose: 0 });
  const loss = h.history.loss ?? [];
  return Number(loss[loss.length - 1] ?? Number.NaN);
}

/** Train options from a train step's document options, defaults filled in. */
export function trainOptionsOf(
  o: {
    epochs?: number;
    batch_size?: number;
    learning_rate?: number;
    validation_split?: number;
    hidden_units?: number[];
    activation?: 'relu' | 'tanh' | 'sigmoid';
    seed?: number;
    patience?: number;
    max_categories?: number;
    bounds?: Record<string, [number, number]>;
  } = {},
): TrainOptions {
  return {
    epochs: o.epochs ?? TRAIN_DEFAULTS.epochs,
    batchSize: o.batch_size ?? TRAIN_DEFAULTS.batchSize,
    learningRate: o.learning_rate ?? TRAIN_DEFAULTS.learningRate,
    validationSplit: o.validation_split ?? TRAIN_DEFAULTS.validationSplit,
    hiddenUnits: o.hidden_units ?? TRAIN_DEFAULTS.hiddenUnits,
    activation: o.activation ?? TRAIN_DEFAULTS.activation,
    seed: o.seed ?? TRAIN_DEFAULTS.seed,
    patience: o.patience ?? TRAIN_DEFAULTS.patience,
    maxCategories: o.max_categories ?? TRAIN_DEFAULTS.maxCategories,
    bounds: o.bounds ?? TRAIN_DEFAULTS.bounds,
  };
}
