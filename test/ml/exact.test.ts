/**
 * The exact solvers (src/ml/exact.ts) against scikit-learn on the same rows
 * (test/fixtures/exact-fit: rows.csv and the numbers make.py computed with scikit-learn):
 * metrics within 0.005, and the logistic weights within 0.01, since the objective is the
 * same (L2, C = 1). Also: a design with linearly dependent columns still fits (the
 * dependent column is dropped), separable classes converge (the penalty), the result
 * carries a TensorFlow.js model that predicts what the solver predicted, and the solver
 * choice is checked before any data is read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DataColumn } from '../../src/ml/encode.ts';
import { trainExact } from '../../src/ml/exact.ts';
import { solveDropping } from '../../src/ml/linalg.ts';
import { solverOf } from '../../src/ml/solver.ts';
import { predict, TRAIN_DEFAULTS } from '../../src/ml/train.ts';
import { encodeRows } from '../../src/ml/encode.ts';
import { checkPipeline, parsePipeline } from '../../src/pipelines/index.ts';
import { caught } from '../pipelines/fixtures.ts';

const dir = new URL('../fixtures/exact-fit/', import.meta.url);
const sk = JSON.parse(readFileSync(new URL('sklearn.json', dir), 'utf8')) as {
  linear: Record<string, number>;
  logistic: Record<string, number> & { coef: number[]; intercept: number };
  logistic_c70: { coef: number[]; intercept: number };
};
const lines = readFileSync(new URL('rows.csv', dir), 'utf8').trim().split('\n');
const header = (lines[0] as string).split(',');
const cells = lines.slice(1).map((l) => l.split(','));
const TYPES: Record<string, string> = {
  x1: 'float64',
  x2: 'float64',
  x3: 'float64',
  age: 'int64',
  flag: 'bool',
  region: 'string',
  cost: 'float64',
  outcome: 'bool',
};
const col = (name: string): DataColumn => {
  const j = header.indexOf(name);
  const type = TYPES[name] as string;
  const raw = cells.map((r) => r[j] as string);
  const values =
    type === 'string' ? raw : type === 'bool' ? raw.map((v) => v === 'true') : Float64Array.from(raw, Number);
  return { name, type, values };
};
const features = ['x1', 'x2', 'x3', 'age', 'flag', 'region'].map(col);
const options = { ...TRAIN_DEFAULTS, validationSplit: 0 };

describe('exact solvers against scikit-learn', () => {
  it('linear regression: RMSE, MAE and R² within 0.005 of LinearRegression', async () => {
    const m = await trainExact({
      step: 'm',
      kind: 'linear_regression',
      features,
      label: col('cost'),
      options,
    });
    expect(m.backend).toBe('exact');
    for (const k of ['rmse', 'mae', 'r2'])
      expect(Math.abs((m.metrics[k] as number) - (sk.linear[k] as number))).toBeLessThan(0.005);
    // The region one-hot sums to the intercept: one column was dropped, the fit is still exact.
    expect(m.epochs).toBe(1);
  });

  it('logistic regression: AUC, accuracy and log-loss within 0.005 of LogisticRegression(), weights within 0.01', async () => {
    const m = await trainExact({
      step: 'm',
      kind: 'logistic_regression',
      features,
      label: col('outcome'),
      options,
    });
    for (const k of ['auc', 'accuracy', 'log_loss'])
      expect(Math.abs((m.metrics[k] as number) - (sk.logistic[k] as number))).toBeLessThan(0.005);
    const [kernel, bias] = m.model.getWeights();
    const w = Array.from(kernel?.dataSync() ?? []);
    expect(w).toHaveLength(sk.logistic.coef.length);
    for (const [j, v] of w.entries())
      expect(Math.abs(v - (sk.logistic.coef[j] as number))).toBeLessThan(0.01);
    expect(Math.abs((bias?.dataSync()[0] as number) - sk.logistic.intercept)).toBeLessThan(0.01);
    // Newton converges in a few passes; the loss curve falls.
    expect(m.epochs).toBeLessThan(12);
    expect(m.lossCurve[m.lossCurve.length - 1]).toBeLessThan(m.lossCurve[0] as number);
  });

  it('on many rows (a start from a subsample, then full Newton passes) reaches the same optimum', async () => {
    // rows.csv 70 times over (105,000 rows) with the same penalty is LogisticRegression(C=70) on rows.csv.
    const times = 70;
    const repeat = (c: DataColumn): DataColumn => {
      const n = c.values.length;
      const values =
        c.values instanceof Float64Array
          ? Float64Array.from({ length: n * times }, (_, i) => (c.values as Float64Array)[i % n] as number)
          : Array.from({ length: n * times }, (_, i) => c.values[i % n]);
      return { ...c, values };
    };
    const m = await trainExact({
      step: 'm',
      kind: 'logistic_regression',
      features: features.map(repeat),
      label: repeat(col('outcome')),
      options,
    });
    const [kernel, bias] = m.model.getWeights();
    for (const [j, v] of Array.from(kernel?.dataSync() ?? []).entries())
      expect(Math.abs(v - (sk.logistic_c70.coef[j] as number))).toBeLessThan(1e-3);
    expect(Math.abs((bias?.dataSync()[0] as number) - sk.logistic_c70.intercept)).toBeLessThan(1e-3);
    expect(m.epochs).toBeLessThanOrEqual(6);
  });

  it('the released TensorFlow.js model predicts what the solver fitted', async () => {
    const m = await trainExact({
      step: 'm',
      kind: 'logistic_regression',
      features,
      label: col('outcome'),
      options,
    });
    const idx = Array.from({ length: 50 }, (_, i) => i);
    const width = m.model.inputs[0]?.shape[1] as number;
    const pred = predict(m.model, encodeRows(m.encoding, features, idx), width);
    const j = header.indexOf('outcome');
    let right = 0;
    idx.forEach((i) => {
      if ((pred[i] as number) >= 0.5 === (cells[i]?.[j] === 'true')) right++;
    });
    expect(right / idx.length).toBeGreaterThan(0.6);
  });

  it('separable classes still converge (the L2 penalty), with a validation split', async () => {
    const x = { name: 'x', type: 'float64', values: Float64Array.from({ length: 200 }, (_, i) => i) };
    const y = { name: 'y', type: 'bool', values: Array.from({ length: 200 }, (_, i) => i >= 100) };
    const m = await trainExact({
      step: 'm',
      kind: 'logistic_regression',
      features: [x],
      label: y,
      options: TRAIN_DEFAULTS,
    });
    expect(m.metrics.accuracy).toBe(1);
    expect(m.rows).toEqual({ train: 160, validation: 40 });
    expect(m.valLossCurve.length).toBe(m.epochs);
  });
});

describe('the Cholesky solve', () => {
  it('drops a dependent column and solves over the rest', () => {
    // Columns: a, 2a, b: the second depends on the first.
    const a = Float64Array.from([2, 4, 1, 4, 8, 2, 1, 2, 3]);
    const { x, dropped } = solveDropping(a, Float64Array.from([3, 6, 4]), 3);
    expect(dropped).toBe(1);
    expect(x[1]).toBe(0);
    // The solution satisfies the kept equations: 2x0 + x2 = 3, x0 + 3x2 = 4.
    expect(2 * (x[0] as number) + (x[2] as number)).toBeCloseTo(3, 10);
    expect((x[0] as number) + 3 * (x[2] as number)).toBeCloseTo(4, 10);
  });
});

describe('options.solver', () => {
  const doc = (model: string, solver: string, dp = '') =>
    parsePipeline(`obscura: 1
name: s
inputs: { t: { columns: { x: float64, y: bool } } }
steps:
  - id: m
    train: { from: t, model: ${model}, features: [x], label: y, options: { solver: ${solver}, bounds: { x: [0, 1] } } }
outputs: { m: { min_group_size: 10${dp} } }
`);
  const schemas = {
    t: [
      { name: 'x', type: 'float64' as const },
      { name: 'y', type: 'bool' as const },
    ],
  };

  it('is exact by default for linear and logistic regression without dp, sgd otherwise', () => {
    expect(solverOf('logistic_regression', false, undefined)).toBe('exact');
    expect(solverOf('linear_regression', false, undefined)).toBe('exact');
    expect(solverOf('logistic_regression', true, undefined)).toBe('sgd');
    expect(solverOf('mlp', false, undefined)).toBe('sgd');
    expect(solverOf('logistic_regression', false, 'sgd')).toBe('sgd');
  });

  it('is validated by the schema and refused where it cannot apply, before data is read', async () => {
    expect(() => checkPipeline(doc('logistic_regression', 'exact'), schemas)).not.toThrow();
    expect(() =>
      checkPipeline(doc('logistic_regression', 'sgd', ', dp: { epsilon: 1, delta: 0.00001 }'), schemas),
    ).not.toThrow();
    const unknown = await caught(() => doc('logistic_regression', 'newton'), 'pipeline_invalid');
    expect(unknown.message).toContain('solver');
    await caught(() => checkPipeline(doc('mlp', 'exact'), schemas), 'pipeline_invalid');
    await caught(
      () =>
        checkPipeline(doc('logistic_regression', 'exact', ', dp: { epsilon: 1, delta: 0.00001 }'), schemas),
      'pipeline_dp_unsupported',
    );
  });
});
