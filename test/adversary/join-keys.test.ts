/**
 * Attack (issue 13, finding 5, its join-key part): `derive k: "1"`, then self-joins on k
 * and a count: every row meets every row (about 8×10⁹ rows from 2,000), which grew the
 * enclave past 4.8 GB; and the constant key slipped past the owners' `join_on` rule,
 * since a key derived from no column recorded no use.
 *
 * Promise it would break: a join key computed from no column is refused before anything
 * runs (on the host and in the enclave); a derived key records the join_on use of the
 * columns it is computed from, so `columns.join_on` holds for it. This test fails if a
 * constant key is accepted or a derived key escapes the join_on rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { enclaveJob, submitJob } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const selfJoin = (key: string) => `obscura: 1
name: blow-up
inputs: { visits: { columns: { age: int64, region: string } } }
steps:
  - { id: k, derive: { from: visits, columns: { k: "${key}" } } }
  - { id: j1, join: { left: k, right: k, on: [k] } }
  - { id: n, aggregate: { from: j1, measures: { rows: { count: "*" } } } }
outputs: { n: {} }
`;

let t: DataHost;
let analyst: AccountKey;
let dataset: string;
let signed: SignedManifest;
let sealed: string;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  const owner = await accountKeyFromSuri('//JoinKeyOwner');
  analyst = await accountKeyFromSuri('//JoinKeyAnalyst');
  const policy = `obscura-policy: 1\nanalysts: ["${analyst.address}"]\ncolumns: { join_on: [patient_id], never_output: [patient_id] }\n`;
  ({ dataset, signed, sealed } = await t.seal({
    owner,
    analysts: [analyst],
    policy,
  }));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

async function forged(pipeline: string) {
  const enclave = t.host.workers.get(t.worker.id);
  const job = await enclaveJob(analyst, {
    id: `forged-${Math.random().toString(16).slice(2)}`,
    pipeline,
    inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealed, manifest: signed }],
  });
  return enclave.request('run_job', { job });
}

describe('join keys', () => {
  it('refuses a join on a constant key, on the host and in the enclave, before any row is read', async () => {
    for (const key of ['1', "'x'", 'abs(-3) + 1']) {
      const r = await submitJob(t.host.url, analyst, {
        pipeline: selfJoin(key),
        inputs: { visits: dataset },
      });
      expect(r, key).toMatchObject({ status: 400, code: 'pipeline_join_key_constant' });
      await expect(forged(selfJoin(key))).rejects.toMatchObject({
        code: 'pipeline_join_key_constant',
        status: 400,
      });
    }
  });

  it('holds the join_on rule for a key derived from columns', async () => {
    const r = await submitJob(t.host.url, analyst, {
      pipeline: selfJoin('age + 0'),
      inputs: { visits: dataset },
    });
    expect(r).toMatchObject({ status: 403, code: 'policy_column_not_allowed' });
    expect(r.message).toMatch(/column age to be joined on/);
    await expect(forged(selfJoin('age + 0'))).rejects.toMatchObject({ code: 'policy_column_not_allowed' });
  });
});
