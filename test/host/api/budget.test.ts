/**
 * Privacy budgets end to end with real processes (host, enclave, embedded chain): DP jobs
 * charge the dataset's budget, each spend anchored on chain before the job reads data (and
 * checked by `verifyResultDocument`, which refuses a DP result without one); a job the budget cannot cover is refused before
 * it is queued; concurrent jobs handed straight to the enclave never overspend; and a host
 * that restores an old copy of the enclave's sealed state is refused by the enclave.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../../../src/host/api/host.ts';
import { DatasetBudgetSchema, JobPreviewSchema } from '../../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../../src/cli/client.ts';
import { type AccountKey, accountKeyFromSuri } from '../../../src/crypto/index.ts';
import type { SignedManifest } from '../../../src/crypto/manifest.ts';
import { PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { jobRequestHash } from '../../../src/privacy/job-request.ts';
import { verifyResultDocument } from '../../../src/provenance/index.ts';
import { type JobRecord, JobRecordSchema, ResultDocumentSchema } from '../../../src/contracts/api-records.ts';
import { refusal, sealAndUpload } from '../../helpers/datasets.ts';
import { enclaveJob, finished, postJob } from '../../helpers/jobs.ts';
import { workerChain } from '../../helpers/worker-chain.ts';
import { inProcessEnclave } from '../../helpers/in-process-enclave.ts';

const CSV = join(PROJECT_ROOT, 'datasets/visits.csv');
const pipeline = (epsilon: number) => `obscura: 1
name: dp-total-cost-${epsilon}
inputs: { visits: { columns: { cost: float64 } } }
steps:
  - id: totals
    aggregate: { from: visits, measures: { n: { count: "*" }, total: { sum: cost, bounds: [0, 5000] } } }
outputs: { totals: { dp: { epsilon: ${epsilon} } } }
`;

const dataDir = mkdtempSync(join(tmpdir(), 'obscura-budget-'));
const logs: string[] = [];
let host: RunningHost;
let owner: AccountKey;
let analyst: AccountKey;
let stranger: AccountKey;
let signed: SignedManifest;
let sealedPath: string;
let dataset: string;

const start = async () =>
  startHost({
    dataDir,
    port: 0,
    chainEndpoint: (await workerChain()).endpoint,
    enclaveSpawn: inProcessEnclave,
    log: (level, m) => logs.push(`${level} ${m}`),
  });
const api = (key?: AccountKey) => new ApiClient(host.url, key);
const budget = async () => DatasetBudgetSchema.parse(await api(owner).get(`/v1/datasets/${dataset}/budget`));

async function run(epsilon: number): Promise<JobRecord> {
  let job = JobRecordSchema.parse(
    await postJob(host.url, analyst, { pipeline: pipeline(epsilon), inputs: { visits: dataset } }),
  );
  job = await finished(host.url, analyst, job);
  return job;
}

beforeAll(async () => {
  host = await start();
  owner = await accountKeyFromSuri('//BudgetOwner');
  analyst = await accountKeyFromSuri('//BudgetAnalyst');
  stranger = await accountKeyFromSuri('//BudgetStranger');
  const w = host.workers.list()[0];
  if (!w) throw new Error('no worker');
  sealedPath = join(dataDir, 'visits.sealed');
  ({ dataset, signed } = await sealAndUpload({
    url: host.url,
    file: CSV,
    out: sealedPath,
    owner,
    worker: w,
    analysts: [analyst.address],
    policy: 'obscura-policy: 1\ndp: { epsilon: 1.2, delta: 1.0e-5, max_epsilon_per_job: 0.5 }\n',
  }));
}, 120_000);

afterAll(async () => {
  await host?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('privacy budgets', () => {
  let snapshot: string;
  let statePath: string;

  it('a DP job spends its epsilon, anchored before release, and verify checks the spend', async () => {
    const job = await run(0.5);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const doc = ResultDocumentSchema.parse(await api(analyst).get(`/v1/results/${job.result}`));
    // Committed before the job read data, the spend binds to the analyst's request the result carries.
    expect(doc.spend?.entry.entry.body).toMatchObject({
      kind: 'spend',
      job: job.id,
      request: jobRequestHash(doc.signed.result.request.request),
      charges: [{ epsilon: 0.5 }],
    });
    expect(doc.spend?.placement.blockNumber).toBeLessThan(doc.anchor.blockNumber);
    const verdict = await verifyResultDocument(doc, {
      chainEndpoint: host.chainEndpoint,
      allowSimulated: true,
    });
    expect(verdict.checks.find((c) => c.name === 'budget spend')).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/before the job read data/),
    });
    expect(verdict.ok).toBe(true);
    // Without its spend, a DP result is a release nobody paid for: verify refuses it.
    const { spend: _spend, ...unpaid } = doc;
    const unpaidVerdict = await verifyResultDocument(unpaid, {
      chainEndpoint: host.chainEndpoint,
      allowSimulated: true,
    });
    expect(unpaidVerdict.checks.find((c) => c.name === 'budget spend')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/no anchored budget spend/),
    });
    expect(unpaidVerdict.ok).toBe(false);
    // A copy whose spend names another result fails that check.
    const other = {
      ...doc,
      spend: {
        ...(doc.spend as NonNullable<typeof doc.spend>),
        entry: { ...(doc.spend as NonNullable<typeof doc.spend>).entry, signature: '0'.repeat(128) },
      },
    };
    expect(
      (
        await verifyResultDocument(other, { chainEndpoint: host.chainEndpoint, allowSimulated: true })
      ).checks.find((c) => c.name === 'budget spend')?.ok,
    ).toBe(false);
    const b = await budget();
    expect(b.epsilon).toEqual({ total: 1.2, spent: 0.5, remaining: 0.7 });
    expect(b.spends).toEqual([expect.objectContaining({ job: job.id, epsilon: 0.5 })]);
    expect(await refusal(api(stranger).get(`/v1/datasets/${dataset}/budget`))).toMatchObject({
      status: 404,
      code: 'dataset_not_found',
    });
    const dir = join(dataDir, 'workers', host.workers.list()[0]?.id as string);
    statePath = join(
      dir,
      readdirSync(dir).find((f) => f.startsWith('state-') && f.endsWith('.sealed')) as string,
    );
    snapshot = `${statePath}.snapshot`;
    copyFileSync(statePath, snapshot);
  }, 60_000);

  it('refuses a job above the per-job limit or the remaining budget before queueing it', async () => {
    expect(
      await refusal(postJob(host.url, analyst, { pipeline: pipeline(0.6), inputs: { visits: dataset } })),
    ).toMatchObject({ status: 403 });
    const second = await run(0.5);
    expect(second.status, JSON.stringify(second.error)).toBe('succeeded');
    expect((await budget()).epsilon.remaining).toBeCloseTo(0.2, 12);
    const dry = JobPreviewSchema.parse(
      await api(analyst).post('/v1/jobs?dry_run=true', {
        pipeline: pipeline(0.5),
        inputs: { visits: dataset },
      }),
    );
    expect(dry.checks.find((c) => c.check === 'budget')).toMatchObject({
      ok: false,
      code: 'budget_exhausted',
    });
    expect(
      await refusal(postJob(host.url, analyst, { pipeline: pipeline(0.5), inputs: { visits: dataset } })),
    ).toMatchObject({ status: 403, code: 'budget_exhausted' });
  }, 60_000);

  it('concurrent jobs sent straight to the enclave never take the budget below zero', async () => {
    const enclave = host.workers.get(host.workers.list()[0]?.id as string);
    const job = (id: string) =>
      enclaveJob(analyst, {
        id,
        pipeline: pipeline(0.15),
        inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealedPath, manifest: signed }],
      });
    const jobs = await Promise.all(['c1', 'c2', 'c3'].map(job));
    const outcomes = await Promise.allSettled(jobs.map((j) => enclave.request('run_job', { job: j })));
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'budget_exhausted' });
    // The spend is held, never released without its placement on chain.
    expect((ok[0] as PromiseFulfilledResult<object>).value).not.toHaveProperty('signed');
    expect((await budget()).epsilon.remaining).toBeCloseTo(0.05, 12);
  }, 60_000);

  it('a host that restores an old copy of the sealed state is refused', async () => {
    await host.close();
    copyFileSync(snapshot, statePath);
    host = await start();
    // The restored state believes 0.7 is left; the chain knows better.
    const job = await run(0.05);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('enclave_state_rollback');
    expect(logs.join('\n')).toMatch(/enclave_state_rollback/);
  }, 120_000);
});
