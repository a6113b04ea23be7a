/**
 * Attack (issue 13, finding 4): with DP off, `sum(cost)` over all rows minus the same sum
 * with `patient_id <> 'P000000-…'` in the filter gave that patient's exact cost;
 * min_group_size cannot stop it (both groups are large), and nothing said so.
 *
 * Promise it would break: owners can stop differencing. A filter or derive reading a
 * never_output column is refused (on the host and in the enclave); `columns.filter`
 * limits the columns filters and derives may read; a dry run warns when an input without
 * DP allows filters, and does not when its policy requires DP. This test fails if the
 * one-patient filter runs, if a derive singles the patient out, if a column outside
 * columns.filter can be filtered on, or if the warning is missing where it applies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { dryRun, enclaveJob, submitJob } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const TARGET = 'P000000-2f1134'; // the first row of visits.csv

const total = (where: string, derive = '') => `obscura: 1
name: total-cost
inputs: { visits: { columns: { patient_id: string, region: string, age: int64, cost: float64 } } }
steps:
  - { id: kept, filter: { from: visits, where: "${where}" } }
  - { id: d, derive: { from: kept, columns: { flag: "${derive || 'age > 0'}" } } }
  - { id: s, aggregate: { from: d, group_by: [flag], measures: { n: { count: "*" }, total: { sum: cost, bounds: [0, 100000] } } } }
outputs: { s: { min_group_size: 1 } }
`;
const dpTotal = `obscura: 1
name: dp-total
inputs: { visits: { columns: { cost: float64 } } }
steps:
  - { id: s, aggregate: { from: visits, measures: { total: { sum: cost, bounds: [0, 10000] } } } }
outputs: { s: { dp: { epsilon: 0.1 } } }
`;

let t: DataHost;
let analyst: AccountKey;
const ds: Record<'plain' | 'narrow' | 'dp', { dataset: string; signed: SignedManifest; sealed: string }> =
  {} as never;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  const owner = await accountKeyFromSuri('//DifferencingOwner');
  analyst = await accountKeyFromSuri('//DifferencingAnalyst');
  const head = `obscura-policy: 1\nanalysts: ["${analyst.address}"]\nmin_group_size: 10\n`;
  const policies = {
    plain: `${head}columns: { never_output: [patient_id] }\n`,
    narrow: `${head}columns: { never_output: [patient_id], filter: [region] }\n`,
    dp: `${head}columns: { never_output: [patient_id] }\ndp: { epsilon: 1, required: true }\n`,
  };
  for (const [name, policy] of Object.entries(policies) as [keyof typeof policies, string][]) {
    ds[name] = await t.seal({ owner, analysts: [analyst], policy, name: `${name}.sealed` });
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
});

async function forged(pipeline: string, d: (typeof ds)['plain']) {
  const enclave = t.host.workers.get(t.worker.id);
  const job = await enclaveJob(analyst, {
    id: `forged-${Math.random().toString(16).slice(2)}`,
    pipeline,
    inputs: [{ name: 'visits', datasetId: d.dataset, blobPath: d.sealed, manifest: d.signed }],
  });
  return enclave.request('run_job', { job });
}

describe('differencing', () => {
  it('refuses a filter on a never_output column, on the host and in the enclave', async () => {
    const pipeline = total(`patient_id <> '${TARGET}'`);
    const r = await submitJob(t.host.url, analyst, { pipeline, inputs: { visits: ds.plain.dataset } });
    expect(r).toMatchObject({ status: 403, code: 'policy_column_not_allowed' });
    expect(r.message).toMatch(/column patient_id to be filtered on/);
    await expect(forged(pipeline, ds.plain)).rejects.toMatchObject({
      code: 'policy_column_not_allowed',
      status: 403,
    });
  });

  it('refuses a derive that singles the row out through a never_output column', async () => {
    const pipeline = total('age >= 0', `patient_id = '${TARGET}'`);
    const r = await submitJob(t.host.url, analyst, { pipeline, inputs: { visits: ds.plain.dataset } });
    expect(r).toMatchObject({ status: 403, code: 'policy_column_not_allowed' });
    expect(r.message).toMatch(/column patient_id to be derived from/);
    await expect(forged(pipeline, ds.plain)).rejects.toMatchObject({ code: 'policy_column_not_allowed' });
  });

  it('lets columns.filter narrow what filters and derives may read', async () => {
    const r = await submitJob(t.host.url, analyst, {
      pipeline: total('age <> 60', "region = 'north'"),
      inputs: { visits: ds.narrow.dataset },
    });
    expect(r).toMatchObject({ status: 403, code: 'policy_column_not_allowed' });
    expect(r.message).toMatch(/column age to be filtered on/);
    await expect(forged(total('age <> 60', "region = 'north'"), ds.narrow)).rejects.toMatchObject({
      code: 'policy_column_not_allowed',
    });
    const preview = await dryRun(t.host.url, analyst, {
      pipeline: total("region <> 'x'", "region = 'north'"),
      inputs: { visits: ds.narrow.dataset },
    });
    expect(preview.checks.find((c) => c.check === 'policies')?.ok).toBe(true);
  });

  it('warns in the dry run when an input without DP allows filters, and not when DP is required', async () => {
    const open = await dryRun(t.host.url, analyst, {
      pipeline: total('age >= 18'),
      inputs: { visits: ds.plain.dataset },
    });
    expect(open.ok).toBe(true);
    expect(open.warnings).toEqual([
      expect.objectContaining({ code: 'differencing_possible', input: 'visits' }),
    ]);
    expect(open.warnings[0]?.detail).toMatch(/min_group_size does not prevent it/);
    const guarded = await dryRun(t.host.url, analyst, {
      pipeline: dpTotal,
      inputs: { visits: ds.dp.dataset },
    });
    expect(guarded.ok, JSON.stringify(guarded.checks)).toBe(true);
    expect(guarded.warnings).toEqual([]);
    // With dp.required, the exact sum is refused outright.
    expect(
      await submitJob(t.host.url, analyst, {
        pipeline: total('age >= 18'),
        inputs: { visits: ds.dp.dataset },
      }),
    ).toMatchObject({ status: 403, code: 'policy_dp_required' });
  });
});
