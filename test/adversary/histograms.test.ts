/**
 * Attack (issue 13, finding 3): a histogram was not an output use of its column, its cells
 * were never suppressed, and any number of bins was allowed. On a dataset whose policy
 * says `never_output: [patient_id, cost]`, a filter keeping 11 rows and a 10,000-bin
 * histogram of cost over [2000, 4000] gave one non-zero cell, [3080.4, 3080.6): one
 * patient's cost, while `max: cost` on the same data was refused.
 *
 * Promise it would break: no row-level fact gets out. A histogram (and a quantile) outputs
 * its column; each cell is a group for min_group_size (cells below it are released as
 * null and counted); owners cap the bins (100 unless the policy says). This test fails if
 * a histogram of a never_output column runs, if more bins than the cap run, or if a
 * released cell shows fewer rows than min_group_size.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { type DataHost, startDataHost, VISITS_CSV } from '../helpers/data-host.ts';
import { runToResult, submitJob } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const MIN = 10;
const policy = (analyst: string, never: string) => `obscura-policy: 1
analysts: ["${analyst}"]
columns: { never_output: [${never}] }
min_group_size: ${MIN}
`;

/** A pipeline keeping the rows `where` selects and measuring them with `measure`. */
const pipeline = (where: string, measure: string) => `obscura: 1
name: narrow-histogram
inputs: { visits: { columns: { age: int64, cost: float64 } } }
steps:
  - { id: few, filter: { from: visits, where: "${where}" } }
  - { id: h, aggregate: { from: few, measures: { n: { count: "*" }, m: ${measure} } } }
outputs: { h: { min_group_size: 1 } }
`;

let t: DataHost;
let analyst: AccountKey;
let secret: string; // cost is never_output
let open: string; // only patient_id is never_output
let window: { lo: number; hi: number };

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  const owner = await accountKeyFromSuri('//HistogramOwner');
  analyst = await accountKeyFromSuri('//HistogramAnalyst');
  const up = (name: string, never: string) =>
    t.seal({ owner, analysts: [analyst], policy: policy(analyst.address, never), name });
  secret = (await up('secret.sealed', 'patient_id, cost')).dataset;
  open = (await up('open.sealed', 'patient_id')).dataset;
  // Eleven rows by cost, between 2000 and 4000, with no other row at their bounds.
  const costs = readFileSync(VISITS_CSV, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[3]))
    .filter((c) => c >= 2000 && c <= 4000)
    .sort((a, b) => a - b);
  const i = costs.findIndex(
    (c, j) => j > 0 && costs[j - 1] !== c && costs[j + 10] !== undefined && costs[j + 11] !== costs[j + 10],
  );
  window = { lo: costs[i] as number, hi: costs[i + 10] as number };
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('histograms release no single row', () => {
  it('refuses a histogram or a quantile of a never_output column, as it refuses max', async () => {
    const where = `age >= 0 AND cost BETWEEN ${window.lo} AND ${window.hi}`;
    for (const measure of [
      '{ histogram: cost, bins: 10, bounds: [2000, 4000] }',
      '{ quantile: cost, q: 0.5 }',
      '{ max: cost }',
    ]) {
      const r = await submitJob(t.host.url, analyst, {
        pipeline: pipeline('age >= 0', measure),
        inputs: { visits: secret },
      });
      expect(r, measure).toMatchObject({ status: 403, code: 'policy_column_not_allowed' });
      expect(r.message).toMatch(/column cost to be output/);
    }
    // Filtering on it is refused too, whatever is measured.
    expect(
      await submitJob(t.host.url, analyst, {
        pipeline: pipeline(where, '{ count: "*" }'),
        inputs: { visits: secret },
      }),
    ).toMatchObject({ status: 403 });
  });

  it('refuses more bins than the cap (100 by default)', async () => {
    const r = await submitJob(t.host.url, analyst, {
      pipeline: pipeline('age >= 0', '{ histogram: cost, bins: 10000, bounds: [2000, 4000] }'),
      inputs: { visits: open },
    });
    expect(r).toMatchObject({ status: 403, code: 'policy_histogram_bins_exceeded' });
    const edges = Array.from({ length: 102 }, (_, i) => 2000 + i * 10).join(', ');
    expect(
      await submitJob(t.host.url, analyst, {
        pipeline: pipeline('age >= 0', `{ histogram: cost, bins: [${edges}] }`),
        inputs: { visits: open },
      }),
    ).toMatchObject({
      status: 403,
      code: 'policy_histogram_bins_exceeded',
    });
  });

  it('releases no cell with fewer than min_group_size rows behind it, over eleven rows and the finest bins allowed', async () => {
    const where = `cost BETWEEN ${window.lo} AND ${window.hi}`;
    const outputs = await runToResult(t.host.url, analyst, {
      pipeline: pipeline(where, '{ histogram: cost, bins: 100, bounds: [2000, 4000] }'),
      inputs: { visits: open },
    });
    const out = outputs['h'];
    expect(out?.minGroupSize).toBe(MIN);
    expect(out?.rows.length).toBe(1);
    expect(out?.rows[0]?.[0]).toBe(11);
    const cells = JSON.parse(String(out?.rows[0]?.[1])) as (number | null)[];
    expect(cells.length).toBe(100);
    for (const c of cells) if (c !== null) expect(c).toBeGreaterThanOrEqual(MIN);
    expect(out?.suppressedCells).toBe(cells.filter((c) => c === null).length);
    expect(out?.suppressedCells).toBeGreaterThanOrEqual(99);
    // Nor can the count beside them, minus the cells shown, point at fewer than ten rows.
    const hidden = 11 - cells.reduce<number>((s, c) => s + (c ?? 0), 0);
    expect(hidden === 0 || hidden >= MIN).toBe(true);
    // Two edges around one row's cost: that cell holds one row, and the other ten are hidden
    // with it, or 11 − 10 would say where it lies.
    const one = window.lo;
    const narrow = await runToResult(t.host.url, analyst, {
      pipeline: pipeline(
        where,
        `{ histogram: cost, bins: [${one - 0.005}, ${one + 0.005}, ${window.hi + 1}] }`,
      ),
      inputs: { visits: open },
    });
    expect(JSON.parse(String(narrow['h']?.rows[0]?.[1]))).toEqual([null, null]);
    expect(narrow['h']?.suppressedCells).toBe(2);
  }, 120_000);
});
