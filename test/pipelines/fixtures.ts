/** Shared fixtures of the pipeline tests: documents, the sample datasets, and error catching. */
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { isObscuraError, type ObscuraError } from '../../src/common/errors.ts';
import { type DatasetSchema, type ParsedDataset, parseDataset } from '../../src/data/index.ts';

/** The example of pipelines.md, verbatim. */
export const PIPELINES_MD_EXAMPLE = `obscura: 1                      # document version
name: readmission-by-region
description: Readmission rate and cost by region, adults only.
inputs:                         # names bound to dataset ids when a job runs
  visits:
    columns: { patient_id: string, region: string, age: int32, cost: float64, readmitted: bool }
  labs:
    columns: { patient_id: string, hba1c: float64 }
steps:
  - id: adults
    filter: { from: visits, where: "age >= 18 AND cost IS NOT NULL" }
  - id: with_labs
    join: { left: adults, right: labs, on: [patient_id], how: inner }
  - id: derived
    derive: { from: with_labs, columns: { high_hba1c: "hba1c > 6.5", age_band: "floor(age / 10) * 10" } }
  - id: by_region
    aggregate:
      from: derived
      group_by: [region, high_hba1c]
      measures:
        patients:   { count: "*" }
        mean_cost:  { mean: cost, bounds: [0, 100000] }
        total_cost: { sum: cost, bounds: [0, 100000] }
        p90_cost:   { quantile: cost, q: 0.9, bounds: [0, 100000] }
        readmit:    { mean: readmitted }
  - id: risk_model
    train:
      from: derived
      model: logistic_regression          # linear_regression | logistic_regression | mlp
      features: [age, hba1c, cost]
      label: readmitted
      options: { epochs: 20, batch_size: 256, learning_rate: 0.01, validation_split: 0.2 }
outputs:                        # only steps named here leave the enclave
  by_region:
    min_group_size: 10          # groups with fewer distinct input rows are suppressed
    dp: { epsilon: 0.5 }        # optional: differential privacy for this output
  risk_model:
    release: metrics            # metrics | weights
`;

/** The sample pipeline's text. */
export const COST_BY_REGION = readFileSync(
  new URL('../../pipelines/cost-by-region.yaml', import.meta.url),
  'utf8',
);

/** Path of the sample dataset. */
export const VISITS_PATH = new URL('../../datasets/visits.csv', import.meta.url).pathname;

let visits: Promise<ParsedDataset> | undefined;
/** The sample dataset, parsed once per test file. */
export function sampleVisits(): Promise<ParsedDataset> {
  visits ??= parseDataset(readFileSync(VISITS_PATH), 'csv');
  return visits;
}

/** Paths of the sample datasets by input name (each example pipeline names its inputs so). */
export const SAMPLE_PATHS = {
  visits: VISITS_PATH,
  labs: new URL('../../datasets/labs.csv', import.meta.url).pathname,
  transactions: new URL('../../datasets/transactions.csv', import.meta.url).pathname,
} as const;

const samples = new Map<string, Promise<ParsedDataset>>();
/** A sample dataset by input name, parsed once per test file. */
export function sample(name: keyof typeof SAMPLE_PATHS): Promise<ParsedDataset> {
  if (name === 'visits') return sampleVisits();
  let p = samples.get(name);
  if (!p) {
    p = parseDataset(readFileSync(SAMPLE_PATHS[name]), 'csv');
    samples.set(name, p);
  }
  return p;
}

/** The example pipelines of pipelines/: file name → text. */
export function examplePipelines(): Map<string, string> {
  const dir = new URL('../../pipelines/', import.meta.url);
  return new Map(
    readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => [f, readFileSync(new URL(f, dir), 'utf8')]),
  );
}

/** The sample dataset's schema. */
export const VISITS_SCHEMA: DatasetSchema = [
  { name: 'patient_id', type: 'string' },
  { name: 'region', type: 'string' },
  { name: 'age', type: 'int64' },
  { name: 'cost', type: 'float64' },
  { name: 'readmitted', type: 'bool' },
  { name: 'visit_date', type: 'date' },
];

/** The sample lab results' schema. */
export const LABS_SCHEMA: DatasetSchema = [
  { name: 'patient_id', type: 'string' },
  { name: 'hba1c', type: 'float64' },
  { name: 'ldl', type: 'float64' },
  { name: 'test_date', type: 'date' },
];

/** The ObscuraError `fn` throws (sync or async), asserting its code. */
export async function caught(fn: () => unknown, code: string): Promise<ObscuraError> {
  try {
    await fn();
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    expect(e.code, e.message).toBe(code);
    return e;
  }
  throw new Error(`expected ObscuraError ${code}, nothing was thrown`);
}

/** Synchronous variant of caught. */
export function caughtSync(fn: () => unknown, code: string): ObscuraError {
  try {
    fn();
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    expect(e.code, e.message).toBe(code);
    return e;
  }
  throw new Error(`expected ObscuraError ${code}, nothing was thrown`);
}
