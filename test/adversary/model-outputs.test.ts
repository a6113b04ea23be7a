/**
 * Attack (issue 13, finding 1): an analyst trains and evaluates models on a dataset whose
 * policy says `dp: { required: true, max_epsilon_per_job: 1 }`. Before the plan carried
 * every output's inputs, train and evaluate outputs had none, so a plain (non-DP) linear
 * regression ran and reported exact row counts, a DP-SGD output with epsilon 2.5 passed a
 * per-job limit of 1, and the dry run priced it all at 0.
 *
 * Promise it would break: dp.required, max_epsilon_per_job and the budget hold for every
 * output kind; DP-SGD's epsilon is charged to its input like any DP output. This test
 * fails if the host or the enclave (handed the forged job directly) lets a model output
 * through without DP, lets DP-SGD exceed the per-job limit, or charges it nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetBudgetSchema } from '../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { dryRun, enclaveJob, runToResult, submitJob } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const POLICY = (analyst: string) => `obscura-policy: 1
analysts: ["${analyst}"]
columns: { never_output: [patient_id] }
min_group_size: 10
dp: { epsilon: 3, max_epsilon_per_job: 1, required: true }
`;

/** A linear regression of cost on age; `out` is the outputs block, `extra` more steps. */
const model = (out: string, extra = '') => `obscura: 1
name: cost-on-age
inputs: { visits: { columns: { age: int64, cost: float64 } } }
steps:
  - { id: priced, filter: { from: visits, where: "cost IS NOT NULL" } }
  - id: m
    train: { from: priced, model: linear_regression, features: [age], label: cost, options: { epochs: 2, batch_size: 200, learning_rate: 0.1, clip_norm: 1, bounds: { age: [0, 100], cost: [0, 10000] } } }
${extra}outputs: ${out}
`;

let t: DataHost;
let owner: AccountKey;
let analyst: AccountKey;
let dataset: string;
let signed: SignedManifest;
let sealed: string;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//ModelOwner');
  analyst = await accountKeyFromSuri('//ModelAnalyst');
  ({ dataset, signed, sealed } = await t.seal({
    owner,
    analysts: [analyst],
    policy: POLICY(analyst.address),
  }));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

/** The same job handed straight to the enclave, as a host that skipped its checks would. */
async function forged(pipeline: string) {
  const enclave = t.host.workers.get(t.worker.id);
  const job = await enclaveJob(analyst, {
    id: `forged-${Math.random().toString(16).slice(2)}`,
    pipeline,
    inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealed, manifest: signed }],
  });
  return enclave.request('run_job', { job });
}

describe('model outputs obey the DP rules of their inputs', () => {
  it('refuses a train output without dp on a dp.required dataset, on the host and in the enclave', async () => {
    const pipeline = model('{ m: { min_group_size: 10 } }');
    expect(await submitJob(t.host.url, analyst, { pipeline, inputs: { visits: dataset } })).toMatchObject({
      status: 403,
      code: 'policy_dp_required',
    });
    await expect(forged(pipeline)).rejects.toMatchObject({ code: 'policy_dp_required', status: 403 });
  });

  it('refuses an evaluate output without dp (its scores depend on the training rows too)', async () => {
    const pipeline = model(
      '{ e: { min_group_size: 10 } }',
      '  - { id: e, evaluate: { model: m, from: priced } }\n',
    );
    expect(await submitJob(t.host.url, analyst, { pipeline, inputs: { visits: dataset } })).toMatchObject({
      status: 403,
      code: 'policy_dp_required',
    });
    await expect(forged(pipeline)).rejects.toMatchObject({ code: 'policy_dp_required' });
  });

  it("counts DP-SGD's epsilon against max_epsilon_per_job", async () => {
    const pipeline = model('{ m: { min_group_size: 10, dp: { epsilon: 2.5, delta: 1.0e-5 } } }');
    expect(await submitJob(t.host.url, analyst, { pipeline, inputs: { visits: dataset } })).toMatchObject({
      status: 403,
      code: 'policy_dp_per_job_exceeded',
    });
    await expect(forged(pipeline)).rejects.toMatchObject({ code: 'policy_dp_per_job_exceeded' });
  });

  it("prices a DP-SGD output in the dry run and charges it to the input's budget", async () => {
    const body = {
      pipeline: model('{ m: { min_group_size: 10, dp: { epsilon: 0.5, delta: 1.0e-5 } } }'),
      inputs: { visits: dataset },
    };
    const preview = await dryRun(t.host.url, analyst, body);
    expect(preview.ok, JSON.stringify(preview.checks)).toBe(true);
    expect(preview.cost.epsilon).toBe(0.5);
    expect(preview.inputs[0]?.cost.epsilon).toBe(0.5);
    expect(preview.inputs[0]?.uses).toMatchObject({ feature: ['age'], label: ['cost'], filter: ['cost'] });
    const outputs = await runToResult(t.host.url, analyst, body);
    expect(outputs['m']?.model?.dpSgd).toMatchObject({ epsilon: 0.5 });
    const budget = DatasetBudgetSchema.parse(
      await new ApiClient(t.host.url, owner).get(`/v1/datasets/${dataset}/budget`),
    );
    expect(budget.epsilon.spent).toBeCloseTo(0.5, 12);
    expect(budget.epsilon.remaining).toBeCloseTo(2.5, 12);
  }, 120_000);
});
