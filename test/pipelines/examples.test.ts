/**
 * Differential test of every example pipeline in pipelines/ over the sample datasets:
 * runPipeline (our CSV parser, Arrow, the loader, the compiler, the planner, suppression)
 * against SQL written by hand over DuckDB's own read_csv of the same files — once with
 * privacy off (min_group_size 1) and once with each document's own min_group_size. Every
 * example must have a reference here, and must pass `obscura pipeline check`'s checker.
 * Every cell matches bit for bit, floats included: both sides run DuckDB single-threaded
 * and add the same values in the same order (joins included, on these files).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKER_PATIENT_ID } from '../../datasets/make-visits.ts';
import {
  checkPipeline,
  declaredSchemas,
  type PipelineDocument,
  parsePipeline,
  runPipeline,
} from '../../src/pipelines/index.ts';
import { examplePipelines, SAMPLE_PATHS, sample } from './fixtures.ts';
import { edgesBin, equalWidthBin, expectSameTable, histogramSql, Reference } from './reference.ts';

const COLUMNS = {
  visits: {
    patient_id: 'VARCHAR',
    region: 'VARCHAR',
    age: 'BIGINT',
    cost: 'DOUBLE',
    readmitted: 'BOOLEAN',
    visit_date: 'DATE',
  },
  labs: { patient_id: 'VARCHAR', hba1c: 'DOUBLE', ldl: 'DOUBLE', test_date: 'DATE' },
  transactions: {
    transaction_id: 'VARCHAR',
    account_id: 'VARCHAR',
    booked_at: 'TIMESTAMP',
    category: 'VARCHAR',
    channel: 'VARCHAR',
    amount: 'DOUBLE',
    abroad: 'BOOLEAN',
    fraud: 'BOOLEAN',
  },
};

/** Hand-written SQL per example: keys, then measures, then n_<input> for each input. */
interface ReferenceQuery {
  output: string;
  keys: string[];
  inputs: string[];
  sql: string;
}

const REFERENCES: Record<string, ReferenceQuery> = {
  // Compared with privacy off (the exact aggregates the DP release is made from).
  'dp-readmission-by-region.yaml': {
    output: 'by_region',
    keys: ['region'],
    inputs: ['visits', 'labs'],
    sql: `WITH v AS (SELECT * FROM visits WHERE age >= 18 AND cost IS NOT NULL QUALIFY count(*) OVER (PARTITION BY patient_id) = 1),
        l AS (SELECT * FROM labs QUALIFY count(*) OVER (PARTITION BY patient_id) = 1)
      SELECT v.region, count(*) AS patients, avg(clamp(v.cost, 0::DOUBLE, 20000::DOUBLE)) AS mean_cost,
        quantile_cont(clamp(v.cost, 0::DOUBLE, 20000::DOUBLE), 0.9) AS p90_cost, avg(CAST(v.readmitted AS INTEGER)) AS readmit,
        avg(clamp(l.hba1c, 4::DOUBLE, 14::DOUBLE)) AS mean_hba1c, count(DISTINCT v.rid) AS n_visits, count(DISTINCT l.rid) AS n_labs
      FROM v JOIN l ON v.patient_id = l.patient_id GROUP BY v.region`,
  },
  'cost-by-region.yaml': {
    output: 'by_region',
    keys: ['region'],
    inputs: ['visits'],
    sql: `SELECT region, count(*) AS patients, sum(cost) AS total_cost, avg(cost) AS mean_cost, max(cost) AS max_cost, count(DISTINCT rid) AS n_visits
      FROM visits WHERE age >= 18 GROUP BY region`,
  },
  'hba1c-by-region.yaml': {
    output: 'by_region',
    keys: ['region', 'readmitted'],
    inputs: ['visits', 'labs'],
    sql: `SELECT v.region, v.readmitted, count(DISTINCT v.patient_id) AS patients, count(l.hba1c) AS results,
        avg(clamp(l.hba1c, 4::DOUBLE, 14::DOUBLE)) AS mean_hba1c, quantile_cont(clamp(l.hba1c, 4::DOUBLE, 14::DOUBLE), 0.9) AS p90_hba1c,
        avg(CAST(l.hba1c >= 6.5::DOUBLE AS INTEGER)) AS diabetic_share, count(DISTINCT v.rid) AS n_visits, count(DISTINCT l.rid) AS n_labs
      FROM visits v JOIN labs l ON v.patient_id = l.patient_id WHERE v.age >= 18 GROUP BY v.region, v.readmitted`,
  },
  'lab-coverage.yaml': {
    output: 'coverage',
    keys: ['region'],
    inputs: ['visits', 'labs'],
    sql: `WITH a AS (SELECT * FROM visits WHERE age BETWEEN 18 AND 120),
        r AS (SELECT * FROM labs WHERE test_date >= DATE '2024-01-01' AND ldl IS NOT NULL)
      SELECT a.region, count(DISTINCT a.patient_id) AS visits, count(r.ldl) AS with_results,
        avg(CASE WHEN r.ldl IS NULL THEN 0 ELSE 1 END) AS rows_with_ldl, avg(clamp(r.ldl, 40::DOUBLE, 300::DOUBLE)) AS mean_ldl,
        sum(CAST(coalesce(r.ldl >= 160, false) AS INTEGER)) AS high_ldl, count(DISTINCT a.rid) AS n_visits, count(DISTINCT r.rid) AS n_labs
      FROM a LEFT JOIN r ON a.patient_id = r.patient_id GROUP BY a.region`,
  },
  'readmission-by-age-band.yaml': {
    output: 'by_band',
    keys: ['age_band', 'winter'],
    inputs: ['visits'],
    sql: `SELECT CASE WHEN age < 18 THEN 'child' WHEN age < 40 THEN '18-39' WHEN age < 65 THEN '40-64' ELSE '65+' END AS age_band,
        month(visit_date) IN (12, 1, 2) AS winter, count(*) AS visits, avg(CAST(readmitted AS INTEGER)) AS readmit_rate,
        quantile_cont(clamp(cost, 0::DOUBLE, 20000::DOUBLE), 0.5) AS median_cost, stddev_samp(clamp(cost, 0::DOUBLE, 20000::DOUBLE)) AS cost_stddev,
        var_samp(clamp(cost, 0::DOUBLE, 20000::DOUBLE)) AS cost_var, count(DISTINCT region) AS regions, min(visit_date) AS first_visit,
        max(visit_date) AS last_visit, count(DISTINCT rid) AS n_visits
      FROM visits GROUP BY 1, 2`,
  },
  'ldl-distribution.yaml': {
    output: 'by_quarter',
    keys: ['year', 'quarter'],
    inputs: ['labs'],
    sql: `SELECT year(test_date) AS year, quarter(test_date) AS quarter, count(*) AS results,
        ${histogramSql('clamp(ldl, 40::DOUBLE, 300::DOUBLE)', 10, equalWidthBin(40, 300, 10))} AS ldl_bins,
        avg(clamp(ldl, 40::DOUBLE, 300::DOUBLE)) AS mean_ldl, stddev_samp(clamp(ldl, 40::DOUBLE, 300::DOUBLE)) AS sd_ldl, count(DISTINCT rid) AS n_labs
      FROM labs WHERE ldl IS NOT NULL GROUP BY 1, 2`,
  },
  'spending-by-category.yaml': {
    output: 'by_category',
    keys: ['category'],
    inputs: ['transactions'],
    sql: `SELECT category, count(*) AS transactions, count(DISTINCT account_id) AS accounts, sum(clamp(amount, 0::DOUBLE, 5000::DOUBLE)) AS total,
        avg(clamp(amount, 0::DOUBLE, 5000::DOUBLE)) AS mean, quantile_cont(clamp(amount, 0::DOUBLE, 5000::DOUBLE), 0.5) AS median,
        max(clamp(amount, 0::DOUBLE, 5000::DOUBLE)) AS largest, count(DISTINCT rid) AS n_transactions
      FROM transactions WHERE amount > 0 AND booked_at >= TIMESTAMP '2025-01-01 00:00:00' GROUP BY category`,
  },
  'fraud-by-channel.yaml': {
    output: 'by_channel',
    keys: ['channel', 'abroad', 'night'],
    inputs: ['transactions'],
    sql: `SELECT channel, abroad, hour(booked_at) < 6 AS night, count(*) AS transactions, avg(CAST(fraud AS INTEGER)) AS fraud_rate,
        sum(CAST(fraud AS INTEGER)) AS frauds, avg(CAST(isodow(booked_at) >= 6 AS INTEGER)) AS weekend_share,
        ${histogramSql('clamp(amount, 0::DOUBLE, 5000::DOUBLE)', 6, edgesBin([0, 10, 50, 100, 500, 1000, 5000]))} AS amount_bands,
        count(DISTINCT rid) AS n_transactions
      FROM transactions GROUP BY 1, 2, 3`,
  },
};

let ref: Reference;
beforeAll(async () => {
  ref = await Reference.open();
  for (const [name, path] of Object.entries(SAMPLE_PATHS))
    await ref.load(name, path, COLUMNS[name as keyof typeof COLUMNS]);
});
afterAll(() => ref.close());

/** Every step kind and every measure kind in one document, with its hand-written SQL. */
const EVERYTHING = {
  doc: {
    obscura: 1,
    name: 'everything',
    inputs: {
      visits: {
        columns: {
          patient_id: 'string',
          region: 'string',
          age: 'int64',
          cost: 'float64',
          readmitted: 'bool',
          visit_date: 'date',
        },
      },
      labs: { columns: { patient_id: 'string', hba1c: 'float64', ldl: 'float64', test_date: 'date' } },
    },
    steps: [
      {
        id: 'recent',
        filter: { from: 'labs', where: "test_date BETWEEN '2024-03-01' AND '2025-10-31' OR ldl IS NULL" },
      },
      { id: 'j', join: { left: 'visits', right: 'recent', on: ['patient_id'], how: 'left' } },
      {
        id: 'd',
        derive: {
          from: 'j',
          columns: {
            band: 'CASE WHEN age < 40 THEN 0 WHEN age < 70 THEN 1 ELSE 2 END',
            days: 'dayofyear(test_date) - dayofyear(visit_date)',
          },
        },
      },
      {
        id: 'out',
        aggregate: {
          from: 'd',
          group_by: ['band', 'readmitted'],
          measures: {
            rows: { count: '*' },
            results: { count: 'hba1c' },
            patients: { count_distinct: 'patient_id' },
            cost_sum: { sum: 'cost', bounds: [0, 4000] },
            age_sum: { sum: 'age' },
            hba1c_mean: { mean: 'hba1c' },
            days_min: { min: 'days' },
            ldl_max: { max: 'ldl', bounds: [50, 250] },
            first_test: { min: 'test_date' },
            ldl_sd: { stddev: 'ldl' },
            cost_var: { variance: 'cost', bounds: [0, 4000] },
            hba1c_p10: { quantile: 'hba1c', q: 0.1 },
            readmit_p50: { quantile: 'readmitted', q: 0.5 },
            ldl_hist: { histogram: 'ldl', bins: 5, bounds: [40, 240] },
            age_hist: { histogram: 'age', bins: [0, 18, 40, 65, 120] },
          },
        },
      },
    ],
    outputs: { out: { min_group_size: 1 } },
  },
  keys: ['band', 'readmitted'],
  sql: `WITH r AS (SELECT * FROM labs WHERE test_date BETWEEN DATE '2024-03-01' AND DATE '2025-10-31' OR ldl IS NULL),
      d AS (SELECT v.*, r.hba1c, r.ldl, r.test_date, r.rid AS labs_rid, CASE WHEN v.age < 40 THEN 0 WHEN v.age < 70 THEN 1 ELSE 2 END AS band,
        dayofyear(r.test_date) - dayofyear(v.visit_date) AS days FROM visits v LEFT JOIN r ON v.patient_id = r.patient_id)
    SELECT band, readmitted, count(*), count(hba1c), count(DISTINCT patient_id), sum(clamp(cost, 0, 4000)), sum(age), avg(hba1c), min(days),
      max(clamp(ldl, 50, 250)), min(test_date), stddev_samp(ldl), var_samp(clamp(cost, 0, 4000)), quantile_cont(hba1c, 0.1),
      quantile_cont(CAST(readmitted AS INTEGER), 0.5), ${histogramSql('clamp(ldl, 40::DOUBLE, 240::DOUBLE)', 5, equalWidthBin(40, 240, 5))},
      ${histogramSql('clamp(age, 0, 120)', 4, edgesBin([0, 18, 40, 65, 120]))}, count(DISTINCT rid) AS n_visits, count(DISTINCT labs_rid) AS n_labs
    FROM d GROUP BY band, readmitted`,
};

/** The document with every output's min_group_size set to `k`. */
function withMinGroupSize(doc: PipelineDocument, k: number): PipelineDocument {
  const copy = structuredClone(doc);
  for (const out of Object.values(copy.outputs)) out.min_group_size = k;
  return copy;
}

describe('example pipelines', () => {
  const examples = examplePipelines();

  it('are at least six, among them a join of two owners, and each has a reference here', () => {
    expect(examples.size).toBeGreaterThanOrEqual(6);
    expect([...examples.keys()].filter((f) => !(f in REFERENCES))).toEqual([
      'cost-model.yaml',
      'readmission-model.yaml',
    ]);
    const joins = [...examples.values()].filter((t) =>
      parsePipeline(t).steps.some((s) => s.join && Object.keys(parsePipeline(t).inputs).length > 1),
    );
    expect(joins.length).toBeGreaterThanOrEqual(1);
  });

  it('every step and measure kind at once matches hand-written DuckDB SQL', async () => {
    const doc = parsePipeline(JSON.stringify(EVERYTHING.doc));
    const out = (await runPipeline(doc, { visits: await sample('visits'), labs: await sample('labs') })).out;
    if (!out) throw new Error('missing output');
    const want = await ref.expected(EVERYTHING.sql, EVERYTHING.keys, ['visits', 'labs'], 1, (i) =>
      i === 'labs' ? 'labs_rid' : 'rid',
    );
    expect(want.rows.length).toBe(6);
    expectSameTable(out, want, 0, 'everything');
  });

  // Model examples release metrics, not tables SQL could compute: test/ml/examples.test.ts checks them.
  for (const [file, text] of [...examples].filter(([, t]) => !/^\s+train:/m.test(t))) {
    it(`${file} matches hand-written DuckDB SQL, privacy off and on`, async () => {
      const doc = parsePipeline(text);
      checkPipeline(doc, declaredSchemas(doc)); // what `obscura pipeline check` does
      const r = REFERENCES[file] as ReferenceQuery;
      const inputs = Object.fromEntries(
        await Promise.all(
          Object.keys(doc.inputs).map(
            async (n) => [n, await sample(n as keyof typeof SAMPLE_PATHS)] as const,
          ),
        ),
      );
      expect(Object.keys(doc.inputs).sort()).toEqual([...r.inputs].sort());
      const own = doc.outputs[r.output]?.min_group_size ?? 1;
      for (const k of [1, own]) {
        const out = (await runPipeline(withMinGroupSize(doc, k), inputs, { privacy: false }))[r.output];
        if (!out) throw new Error('missing output');
        // The examples with histograms read one input, whose row ids are column rid.
        const want = await ref.expected(r.sql, r.keys, r.inputs, k, () => 'rid');
        expect(want.rows.length).toBeGreaterThan(0);
        expectSameTable(out, want, 0, `${file} k=${k}`); // bit for bit
        expect(JSON.stringify(out)).not.toContain(MARKER_PATIENT_ID);
      }
    });
  }
});
