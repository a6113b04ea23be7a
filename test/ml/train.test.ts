/**
 * Training inside the pipeline runner on the sample data, with the real TensorFlow.js
 * backend: the example pipelines' metrics, weights that `tf.loadLayersModel` loads and that
 * predict what the trained model predicts, reproducible training, evaluate on another
 * step's rows, and each refusal by name. Quality bars against independent references on
 * the same split and encoding: logistic regression's AUC within 0.01 of Newton's method
 * (IRLS, written here in plain JS), linear regression's R² within 0.01 of ordinary least
 * squares by the normal equations.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ParsedDataset } from '../../src/data/index.ts';
import { auc, r2 } from '../../src/ml/metrics.ts';
import { type DataColumn, encodedWidth, encodeLabels, encodeRows, fitEncoder } from '../../src/ml/encode.ts';
import { seededSplit } from '../../src/ml/split.ts';
import { predict, TRAIN_DEFAULTS, trainModel } from '../../src/ml/train.ts';
import { exportWeights } from '../../src/ml/weights.ts';
import { checkPipeline, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import type { Manifest } from '../../src/crypto/manifest.ts';
import { enforcePolicies, parseDatasetPolicy } from '../../src/privacy/index.ts';
import { caught, sampleVisits } from '../pipelines/fixtures.ts';

const example = (name: string) =>
  parsePipeline(readFileSync(new URL(`../../pipelines/${name}`, import.meta.url), 'utf8'));
let visits: ParsedDataset;
let withCost: number[];
const column = (name: string): DataColumn => {
  const c = visits.table.getChild(name);
  const type = visits.schema.find((s) => s.name === name)?.type as string;
  return { name, type, values: withCost.map((i) => c?.get(i)) };
};

beforeAll(async () => {
  visits = await sampleVisits();
  const cost = visits.table.getChild('cost');
  withCost = Array.from({ length: visits.rows }, (_, i) => i).filter((i) => cost?.get(i) !== null);
});

/** Logistic regression by Newton's method (IRLS) with a tiny ridge; returns [intercept, ...weights]. */
function irls(x: Float32Array, y: Float32Array, n: number, d: number): number[] {
  const w = new Array<number>(d + 1).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const g = new Array<number>(d + 1).fill(0);
    const h = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < n; i++) {
      const row = [1, ...Array.from(x.subarray(i * d, i * d + d))];
      const z = row.reduce((a, v, j) => a + v * (w[j] as number), 0);
      const p = 1 / (1 + Math.exp(-z));
      for (let j = 0; j <= d; j++) {
        g[j] = (g[j] as number) + ((y[i] as number) - p) * (row[j] as number);
        for (let k = 0; k <= d; k++)
          (h[j] as number[])[k] =
            ((h[j] as number[])[k] as number) + p * (1 - p) * (row[j] as number) * (row[k] as number);
      }
    }
    for (let j = 0; j <= d; j++) (h[j] as number[])[j] = ((h[j] as number[])[j] as number) + 1e-6;
    const step = solve(h, g);
    step.forEach((s, j) => {
      w[j] = (w[j] as number) + s;
    });
  }
  return w;
}

/** Ordinary least squares by the normal equations (tiny ridge for the one-hot collinearity). */
function ols(x: Float32Array, y: Float32Array, n: number, d: number): number[] {
  const a = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
  const b = new Array<number>(d + 1).fill(0);
  for (let i = 0; i < n; i++) {
    const row = [1, ...Array.from(x.subarray(i * d, i * d + d))];
    for (let j = 0; j <= d; j++) {
      b[j] = (b[j] as number) + (row[j] as number) * (y[i] as number);
      for (let k = 0; k <= d; k++)
        (a[j] as number[])[k] = ((a[j] as number[])[k] as number) + (row[j] as number) * (row[k] as number);
    }
  }
  for (let j = 0; j <= d; j++) (a[j] as number[])[j] = ((a[j] as number[])[j] as number) + 1e-6;
  return solve(a, b);
}

/** Gaussian elimination with partial pivoting. */
function solve(m: number[][], v: number[]): number[] {
  const n = v.length;
  const a = m.map((r, i) => [...r, v[i] as number]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++)
      if (Math.abs((a[r] as number[])[c] as number) > Math.abs((a[p] as number[])[c] as number)) p = r;
    [a[c], a[p]] = [a[p] as number[], a[c] as number[]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = ((a[r] as number[])[c] as number) / ((a[c] as number[])[c] as number);
      for (let k = c; k <= n; k++)
        (a[r] as number[])[k] = ((a[r] as number[])[k] as number) - f * ((a[c] as number[])[k] as number);
    }
  }
  return a.map((r, i) => (r[n] as number) / (r[i] as number));
}

const linear = (w: number[], x: Float32Array, n: number, d: number) =>
  Float32Array.from(
    { length: n },
    (_, i) =>
      (w[0] as number) +
      Array.from(x.subarray(i * d, i * d + d)).reduce((a, v, j) => a + v * (w[j + 1] as number), 0),
  );

describe('train steps', () => {
  it('the readmission example releases metrics and loadable weights, and is reproducible', async () => {
    const doc = example('readmission-model.yaml');
    const first = (await runPipeline(doc, { visits })).risk_model;
    const second = (await runPipeline(doc, { visits })).risk_model;
    expect(first?.columns).toEqual([
      { name: 'metric', type: 'string' },
      { name: 'value', type: 'float64' },
    ]);
    const metrics = Object.fromEntries((first?.rows ?? []).map(([k, v]) => [k, v]));
    expect(Object.keys(metrics)).toEqual([
      'auc',
      'accuracy',
      'log_loss',
      'loss',
      'epochs',
      'rows_train',
      'rows_validation',
    ]);
    expect(metrics.auc).toBeGreaterThan(0.5);
    expect(first?.model).toMatchObject({
      kind: 'logistic_regression',
      task: 'classification',
      backend: 'exact',
      features: ['age', 'cost', 'region'],
      label: 'readmitted',
    });
    expect(first?.model?.encoding[2]).toMatchObject({ name: 'region', kind: 'onehot' });
    // islands has fewer than 10 training rows: left out of the released vocabulary.
    expect((first?.model?.encoding[2] as { vocabulary?: string[] } | undefined)?.vocabulary).not.toContain(
      'islands',
    );
    expect(first?.model?.weights?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second?.model?.weights?.sha256).toBe(first?.model?.weights?.sha256);
    expect(second?.rows).toEqual(first?.rows);
  }, 60_000);

  it('reads an input straight from its Arrow columns to the same model as through DuckDB', async () => {
    const doc = (from: string) =>
      parsePipeline(`obscura: 1
name: direct
inputs: { visits: { columns: { region: string, age: int64, readmitted: bool } } }
steps:
  - id: all
    filter: { from: visits, where: "age >= 0" }
  - id: m
    train: { from: ${from}, model: logistic_regression, features: [age, region], label: readmitted, options: { epochs: 3 } }
outputs: { m: { release: weights } }
`);
    const direct = (await runPipeline(doc('visits'), { visits })).m;
    const viaDuckDB = (await runPipeline(doc('all'), { visits })).m;
    expect(direct?.model?.weights?.sha256).toBe(viaDuckDB?.model?.weights?.sha256);
    expect(direct?.rows).toEqual(viaDuckDB?.rows);
  }, 60_000);

  it('exported weights load with tf.loadLayersModel and predict what the model predicts', async () => {
    const trained = await trainModel({
      step: 'm',
      kind: 'mlp',
      features: [column('age'), column('cost'), column('region')],
      label: column('readmitted'),
      options: { ...TRAIN_DEFAULTS, hiddenUnits: [8, 4], epochs: 5 },
    });
    const w = await exportWeights(trained.model);
    const bytes = Buffer.from(w.weightData, 'base64');
    const loaded = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: w.modelTopology as object,
        weightSpecs: w.weightSpecs as tf.io.WeightsManifestEntry[],
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      }),
    );
    const width = encodedWidth(trained.encoding);
    const x = encodeRows(
      trained.encoding,
      [column('age'), column('cost'), column('region')],
      [0, 1, 2, 3, 4],
    );
    expect(Array.from(predict(loaded, x, width))).toEqual(Array.from(predict(trained.model, x, width)));
  }, 60_000);

  it('logistic AUC and linear R² are within 0.01 of IRLS and OLS on the same split', async () => {
    const options = { ...TRAIN_DEFAULTS, epochs: 200, patience: 20, learningRate: 0.02, seed: 3 };
    const feats = [column('age'), column('cost'), column('region')];
    const logistic = await trainModel({
      step: 'l',
      kind: 'logistic_regression',
      features: feats,
      label: column('readmitted'),
      options,
    });
    const split = seededSplit(withCost.length, options.validationSplit, options.seed);
    const enc = fitEncoder(feats, split.train, options.maxCategories, 'l');
    const d = encodedWidth(enc);
    const xt = encodeRows(enc, feats, split.train);
    const xv = encodeRows(enc, feats, split.validation);
    const yv = encodeLabels(column('readmitted'), split.validation, 'classification', 'l');
    const w = irls(
      xt,
      encodeLabels(column('readmitted'), split.train, 'classification', 'l'),
      split.train.length,
      d,
    );
    const refAuc = auc(linear(w, xv, split.validation.length, d), yv);
    expect(Math.abs((logistic.metrics.auc as number) - refAuc)).toBeLessThan(0.01);

    const rfeats = [column('age'), column('region'), column('readmitted')];
    const regression = await trainModel({
      step: 'r',
      kind: 'linear_regression',
      features: rfeats,
      label: column('cost'),
      options,
    });
    const renc = fitEncoder(rfeats, split.train, options.maxCategories, 'r');
    const rd = encodedWidth(renc);
    const b = ols(
      encodeRows(renc, rfeats, split.train),
      encodeLabels(column('cost'), split.train, 'regression', 'r'),
      split.train.length,
      rd,
    );
    const refR2 = r2(
      linear(b, encodeRows(renc, rfeats, split.validation), split.validation.length, rd),
      encodeLabels(column('cost'), split.validation, 'regression', 'r'),
    );
    expect(refR2).toBeGreaterThan(0.5);
    expect(Math.abs((regression.metrics.r2 as number) - refR2)).toBeLessThan(0.01);
  }, 120_000);

  it("evaluate scores a trained model on another step's rows", async () => {
    const doc = parsePipeline(`obscura: 1
name: north-holdout
inputs: { visits: { columns: { region: string, age: int64, cost: float64 } } }
steps:
  - id: elsewhere
    filter: { from: visits, where: "region <> 'north' AND cost IS NOT NULL" }
  - id: north
    filter: { from: visits, where: "region = 'north' AND cost IS NOT NULL" }
  - id: m
    train: { from: elsewhere, model: linear_regression, features: [age], label: cost, options: { epochs: 40, learning_rate: 0.05 } }
  - id: on_north
    evaluate: { model: m, from: north, metrics: [r2, rmse] }
outputs: { on_north: { min_group_size: 10 } }
`);
    const out = (await runPipeline(doc, { visits })).on_north;
    const metrics = Object.fromEntries((out?.rows ?? []).map(([k, v]) => [k, v]));
    expect(Object.keys(metrics)).toEqual(['rmse', 'r2', 'rows']);
    expect(metrics.r2).toBeGreaterThan(0.5);
    expect(out?.model).toBeUndefined();
  }, 60_000);

  it('refuses bad labels, unbounded vocabularies, too few rows and withheld weights, by name', async () => {
    const train = (body: string, outputs = '{ m: { min_group_size: 1 } }') =>
      parsePipeline(`obscura: 1
name: bad
inputs: { visits: { columns: { patient_id: string, region: string, age: int64, cost: float64, readmitted: bool } } }
steps:
  - id: ok
    filter: { from: visits, where: "cost IS NOT NULL" }
  - id: m
    train: ${body}
outputs: ${outputs}
`);
    const ages = await caught(
      () =>
        runPipeline(train('{ from: ok, model: logistic_regression, features: [cost], label: age }'), {
          visits,
        }),
      'ml_label_invalid',
    );
    expect(ages.message).toMatch(/label age must be a boolean or 0\/1/);
    const ids = await caught(
      () =>
        runPipeline(
          train('{ from: ok, model: logistic_regression, features: [patient_id], label: readmitted }'),
          { visits },
        ),
      'ml_vocabulary_too_large',
    );
    expect(ids.details).toMatchObject({ step: 'm', column: 'patient_id' });
    await caught(
      () =>
        runPipeline(train('{ from: ok, model: linear_regression, features: [age], label: region }'), {
          visits,
        }),
      'pipeline_type_mismatch',
    );
    await caught(
      () =>
        runPipeline(train('{ from: ok, model: linear_regression, features: [age, age], label: cost }'), {
          visits,
        }),
      'pipeline_invalid',
    );
    await caught(
      () =>
        runPipeline(
          train(
            '{ from: ok, model: linear_regression, features: [age], label: cost }',
            '{ m: { min_group_size: 5000 } }',
          ),
          { visits },
        ),
      'ml_too_few_rows',
    );
    const weights = train(
      '{ from: ok, model: logistic_regression, features: [age], label: readmitted }',
      '{ m: { release: weights } }',
    );
    const manifest = {
      name: 'visits.csv',
      analysts: ['*'],
      policy: parseDatasetPolicy('obscura-policy: 1\nmodels: { release: metrics }\n'),
    } as unknown as Manifest;
    const plan = checkPipeline(weights, { visits: visits.schema });
    const e = await caught(
      () =>
        enforcePolicies(plan, [{ name: 'visits', manifest }], {
          analyst: 'a',
          pipelineHash: 'h',
          now: new Date(),
          doc: weights,
        }),
      'policy_model_release',
    );
    expect(e.details).toMatchObject({ input: 'visits', rule: 'models.release', output: 'm' });
  }, 60_000);
});
