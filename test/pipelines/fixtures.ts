/** Shared fixtures of the pipeline tests: documents, the sample dataset, and error catching. */
import { readFileSync } from 'node:fs';
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
export const COST_BY_REGION = readFileSync(new URL('../../pipelines/cost-by-region.yaml', import.meta.url), 'utf8');

/** Path of the sample dataset. */
export const VISITS_PATH = new URL('../../datasets/visits.csv', import.meta.url).pathname;

let visits: Promise<ParsedDataset> | undefined;
/** The sample dataset, parsed once per test file. */
export function sampleVisits(): Promise<ParsedDataset> {
  visits ??= parseDataset(readFileSync(VISITS_PATH), 'csv');
  return visits;
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
