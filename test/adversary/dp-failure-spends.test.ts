/**
 * Attack: probe a DP dataset for free with jobs that fail. A failed job gave its budget
 * reservation back, so an analyst could ask any yes/no question whose answer decides
 * whether the job fails after reading the rows (here: does any visit lack a cost? a DP-SGD
 * regression on cost fails on a missing label) as often as they liked, while the budget
 * showed all of it left.
 * The promise it breaks: once the enclave has read data for a DP job, its budget is spent
 * whether the job succeeds or fails: the spend is committed to the enclave's ledger and
 * anchored on chain before the job reads anything (crash-spends.test.ts kills the enclave
 * mid-job). A job refused before its spend is committed (policy, budget, an input that is
 * missing or altered on its face) spends nothing; once committed, a spend is never given
 * back, not even when the job then fails before reading its input.
 * Runs a real host (embedded chain, the real enclave in-process, API).
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetBudgetSchema } from '../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { enclaveJob, finished } from '../helpers/jobs.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { ChainClient } from '../../src/chain/client.ts';
import { loadOrCreateOperatorKey } from '../../src/host/chain/operator.ts';
import {
  ledgerEntryHash,
  type SignedLedgerEntry,
  SignedLedgerEntrySchema,
} from '../../src/contracts/ledger.ts';
import { jobRequestHash } from '../../src/privacy/job-request.ts';
import { DATA_CONDITION_CODE, DATA_CONDITION_MESSAGE } from '../../src/enclave/data-condition.ts';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

/** DP-SGD on cost, which some visits lack: the job fails once the enclave reads the rows. */
const FAILS_AFTER_READING = `obscura: 1
name: dp-sgd-on-cost
inputs: { visits: { columns: { age: int64, cost: float64 } } }
steps:
  - id: m
    train: { from: visits, model: linear_regression, features: [age], label: cost, options: { epochs: 1, batch_size: 256, clip_norm: 1, bounds: { age: [0, 100], cost: [0, 10000] } } }
outputs: { m: { min_group_size: 10, dp: { epsilon: 0.5, delta: 1.0e-6 } } }
`;

let t: DataHost;
let owner: AccountKey;
let analyst: AccountKey;
let dataset: string;
let signed: SignedManifest;
let sealedPath: string;

const budget = async () =>
  DatasetBudgetSchema.parse(await new ApiClient(t.host.url, owner).get(`/v1/datasets/${dataset}/budget`));

async function run(pipeline: string): Promise<JobRecord> {
  const api = new ApiClient(t.host.url, analyst);
  let job = JobRecordSchema.parse(await submitJob(api, analyst, { pipeline, inputs: { visits: dataset } }));
  job = await finished(t.host.url, analyst, job);
  return job;
}

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//DpFailureOwner');
  analyst = await accountKeyFromSuri('//DpFailureAnalyst');
  ({
    dataset,
    signed,
    sealed: sealedPath,
  } = await t.seal({
    owner,
    analysts: [analyst],
    policy: 'obscura-policy: 1\ndp: { epsilon: 3, delta: 1.0e-5, max_epsilon_per_job: 1, required: true }\n',
  }));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('a DP job that fails after reading data spends its budget', () => {
  it('the failed job is charged, its spend anchored on chain, and it fails with the data-free code', async () => {
    expect((await budget()).epsilon).toEqual({ total: 3, spent: 0, remaining: 3 });
    const job = await run(FAILS_AFTER_READING);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ code: DATA_CONDITION_CODE, message: DATA_CONDITION_MESSAGE });
    const after = await budget();
    expect(after.epsilon).toEqual({ total: 3, spent: 0.5, remaining: 2.5 });
    expect(after.delta.spent).toBeCloseTo(1e-6, 15);
    // Committed to the ledger and placed on chain, like a success's spend.
    expect(after.spends).toEqual([expect.objectContaining({ job: job.id, epsilon: 0.5 })]);
    expect(after.spends[0]?.blockNumber).toBeGreaterThan(0);
    // Asking again costs again: a probe is never free.
    await run(FAILS_AFTER_READING);
    expect((await budget()).epsilon.spent).toBe(1);
  }, 180_000);

  it('a job that fails before any data is read spends nothing', async () => {
    const before = await budget();
    const enclave = t.host.workers.get(t.worker.id);
    // The ciphertext is missing: the enclave refuses before it commits the spend.
    const job = await enclaveJob(analyst, {
      id: 'no-data',
      pipeline: FAILS_AFTER_READING,
      inputs: [{ name: 'visits', datasetId: dataset, blobPath: join(t.work, 'missing'), manifest: signed }],
    });
    await expect(enclave.request('run_job', { job })).rejects.toMatchObject({ code: 'dataset_blob_missing' });
    // More than the 2 left: refused before anything is decrypted (by the budget, or the per-job
    // limit where it applies to train outputs), with its own precise code; nothing spent.
    const greedy = await enclaveJob(analyst, {
      id: 'greedy',
      pipeline: FAILS_AFTER_READING.replace('epsilon: 0.5', 'epsilon: 2.5'),
      inputs: job.inputs.map((i) => ({ ...i, blobPath: sealedPath })),
    });
    const refused = await enclave.request('run_job', { job: greedy }).then(
      () => undefined,
      (e: unknown) => e as { code: string },
    );
    expect(refused?.code).toBeDefined();
    expect(refused?.code).not.toBe(DATA_CONDITION_CODE);
    expect(await budget()).toEqual(before);
  }, 120_000);

  it('the spend is committed before the job reads anything: the host sees the entry alone, bound to the signed request', async () => {
    const enclave = t.host.workers.get(t.worker.id);
    const job = await enclaveJob(analyst, {
      id: 'held',
      pipeline: FAILS_AFTER_READING,
      inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealedPath, manifest: signed }],
    });
    const before = await budget();
    // What every spending job answers, before it has opened an input: the spend entry alone.
    const answer = await enclave.request('run_job', { job });
    expect(Object.keys(answer)).toEqual(['ledger']);
    const { entry } = SignedLedgerEntrySchema.parse((answer as { ledger: unknown }).ledger);
    expect(entry.body).toEqual({
      kind: 'spend',
      job: 'held',
      request: jobRequestHash(job.request.request),
      charges: [expect.objectContaining({ epsilon: 0.5 })],
    });
    expect(t.logs.filter((l) => l.includes('held'))).toEqual([]);
    // Spent already, anchored or not.
    expect((await budget()).epsilon.spent).toBe(before.epsilon.spent + 0.5);
  }, 120_000);

  it('a spend anchored for a job that then fails before reading its input is not given back', async () => {
    const enclave = t.host.workers.get(t.worker.id);
    // A copy of the ciphertext that is there when the job is committed, and gone when it runs.
    const vanishing = join(t.work, 'vanishing.sealed');
    copyFileSync(sealedPath, vanishing);
    const job = await enclaveJob(analyst, {
      id: 'vanishing',
      pipeline: FAILS_AFTER_READING,
      inputs: [{ name: 'visits', datasetId: dataset, blobPath: vanishing, manifest: signed }],
    });
    const before = await budget();
    const { ledger } = (await enclave.request('run_job', { job })) as { ledger: SignedLedgerEntry };
    rmSync(vanishing);
    const confirmed = await anchorAndConfirm(ledger);
    // Nothing was read, so the failure keeps its precise code; the spend stands.
    expect(confirmed.failed).toMatchObject({ code: 'dataset_blob_missing' });
    expect(confirmed.released).toBeUndefined();
    expect((await budget()).epsilon.spent).toBe(before.epsilon.spent + 0.5);
    // With the ciphertext back, the enclave still does not run the job a second time for that spend.
    copyFileSync(sealedPath, vanishing);
    await expect(enclave.request('run_job', { job })).rejects.toMatchObject({ code: 'job_request_replayed' });
  }, 120_000);

  it('a job cancelled while its spend is being anchored never reads data, and its spend stands', async () => {
    const enclave = t.host.workers.get(t.worker.id);
    const job = await enclaveJob(analyst, {
      id: 'cancelled-early',
      pipeline: FAILS_AFTER_READING,
      inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealedPath, manifest: signed }],
    });
    const before = await budget();
    const { ledger } = (await enclave.request('run_job', { job })) as { ledger: SignedLedgerEntry };
    expect(await enclave.request('cancel_job', { job: 'cancelled-early' })).toEqual({ cancelled: true });
    const seen: string[] = [];
    const confirmed = await anchorAndConfirm(ledger, (_f, message) => seen.push(message));
    expect(confirmed.failed).toMatchObject({ code: 'job_cancelled' });
    expect(seen).toEqual([]);
    expect((await budget()).epsilon.spent).toBe(before.epsilon.spent + 0.5);
  }, 120_000);
});

/** What an honest host does with a spend entry: anchor its head with the host's operator key, then confirm it with the enclave. */
async function anchorAndConfirm(
  ledger: SignedLedgerEntry,
  onProgress?: (fraction: number, message: string) => void,
) {
  const enclave = t.host.workers.get(t.worker.id);
  const operator = await loadOrCreateOperatorKey(t.dataDir);
  const chain = await ChainClient.connect(t.host.chainEndpoint, { operatorSuri: operator.suri });
  try {
    const placement = await chain.anchorLedgerHead({
      worker: ledger.entry.worker,
      seq: ledger.entry.seq,
      entry: ledgerEntryHash(ledger.entry),
    });
    return await enclave.request('confirm_ledger', { placement }, onProgress);
  } finally {
    await chain.close();
  }
}
