/**
 * API answers for the dashboard's browser tests, in the shapes the contracts give them
 * (src/contracts/result.ts, api-records.ts): results that exercise each kind of output (DP
 * with several group keys, histograms, model metrics) and names an attacker chose. A test
 * serves them to the page with Playwright's request routing, in front of the real
 * in-process app (which still serves the page, its script and its headers).
 */
import type { Page, Route } from 'playwright-core';

const HASH = (c: string) => c.repeat(64).slice(0, 64);

/** A result document around `tables` (public outputs), made by pipeline `pipelineHash`. */
export function resultDoc(
  id: string,
  pipelineHash: string,
  tables: Record<string, unknown>,
): Record<string, unknown> {
  return {
    obscura: 'result-document/1',
    id,
    hash: HASH('a'),
    signed: {
      result: {
        job: `job-${id}`,
        pipeline: { name: `pipeline of ${id}`, hash: pipelineHash },
        createdAt: '2026-12-07T08:00:00.000Z',
        enclave: { worker: 'worker-1', tee: 'simulated', measurement: HASH('b'), simulated: true },
        outputs: { visibility: 'public', tables },
      },
    },
    anchor: {
      chain: { chainName: 'Obscura Test Double' },
      blockNumber: 1234,
      extrinsicIndex: 1,
      blockHash: `0x${HASH('c')}`,
    },
  };
}

/** DP counts by two keys (region, age band), with the real release threshold. */
export const DP_RESULT = resultDoc('res-dp', HASH('1'), {
  by_region_age: {
    columns: [
      { name: 'region', type: 'string' },
      { name: 'age_band', type: 'string' },
      { name: 'visits', type: 'float64' },
      { name: 'mean_cost', type: 'float64' },
    ],
    rows: [
      ['north', '18-40', 412.4, 357102.3200000001],
      ['north', '41-65', 388.1, 1234.5],
      ['south', '18-40', 201, 987.25],
      ['south', '41-65', 199.7, 1001],
    ],
    suppressedGroups: 3,
    minGroupSize: 10,
    dp: { mechanism: 'laplace', epsilon: 0.5, delta: 0, threshold: 126.4 },
  },
});
/** The pipeline behind DP_RESULT: its group keys. */
export const DP_PIPELINE = {
  hash: HASH('1'),
  name: 'dp-visits',
  createdAt: '2026-12-07T07:00:00.000Z',
  document: {
    steps: [
      {
        id: 'by_region_age',
        aggregate: { group_by: ['region', 'age_band'], measures: { visits: { count: '*' } } },
      },
    ],
  },
};

/** A histogram per year (a numeric group key that must not be charted as a value). */
export const HISTOGRAM_RESULT = resultDoc('res-hist', HASH('2'), {
  ldl_by_year: {
    columns: [
      { name: 'year', type: 'int32' },
      { name: 'ldl_bins', type: 'string' },
    ],
    rows: [
      [2024, '[3,14,40,22,9,2]'],
      [2025, '[1,12,null,25,11,4]'],
    ],
    suppressedGroups: 0,
    suppressedCells: 1,
    minGroupSize: 5,
  },
});
export const HISTOGRAM_PIPELINE = {
  hash: HASH('2'),
  name: 'ldl-distribution',
  createdAt: '2026-12-07T07:00:00.000Z',
  document: {
    steps: [
      {
        id: 'ldl_by_year',
        aggregate: {
          group_by: ['year'],
          measures: { ldl_bins: { histogram: 'ldl', bins: 6, bounds: [40, 300] } },
        },
      },
    ],
  },
};

/** A trained model: quality metrics beside row counts, and released weights. */
export const MODEL_RESULT = resultDoc('res-model', HASH('3'), {
  model: {
    columns: [
      { name: 'metric', type: 'string' },
      { name: 'value', type: 'float64' },
    ],
    rows: [
      ['accuracy', 0.8125],
      ['auc', 0.874],
      ['epochs', 30],
      ['rows_train', 8000],
      ['rows_validation', 2000],
    ],
    suppressedGroups: 0,
    minGroupSize: 10,
    model: {
      kind: 'logistic_regression',
      task: 'classification',
      backend: 'exact',
      features: ['age', 'cost'],
      label: 'readmitted',
      encoding: [],
      epochs: 30,
      rows: { train: 8000, validation: 2000 },
      lossCurve: [],
      valLossCurve: [],
      weights: {
        format: 'tfjs-layers',
        modelTopology: {},
        weightSpecs: [],
        weightData: 'AAAAAA==',
        sha256: HASH('d'),
      },
    },
  },
});

/** Answer the page's GETs of `answers` (pathname → JSON); any other request goes to the real app. */
export async function serveApi(page: Page, answers: Record<string, unknown>): Promise<void> {
  await page.route('**/v1/**', async (route: Route) => {
    const path = new URL(route.request().url()).pathname;
    const body = answers[path];
    if (body === undefined) return route.continue();
    return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  });
}

/** The result list for these documents. */
export function resultList(...docs: Record<string, unknown>[]): { results: unknown[] } {
  return {
    results: docs.map((d) => {
      const r = (d.signed as { result: Record<string, unknown> }).result;
      return { id: d.id, job: r.job, pipeline: r.pipeline, createdAt: r.createdAt, simulated: true };
    }),
  };
}
