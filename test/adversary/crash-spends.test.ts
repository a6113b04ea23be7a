/**
 * Attack: probe a DP dataset for free by killing the enclave. A DP job's budget used to be
 * reserved in enclave memory and committed only when the job ended, so a job whose enclave
 * process died after reading the rows (the host SIGKILLs it, or a pipeline built to overflow
 * the V8 heap depending on the data) failed as `enclave_crashed` and spent nothing: the
 * analyst (or the host) could read data through crashes as often as they liked.
 * The promise it breaks: a DP job that read data has spent its budget whether it succeeded
 * or not. The enclave now commits the spend to its sealed ledger and has its head anchored
 * on chain before it decrypts anything, so a job killed mid-run has paid, the payment
 * survives the restart from sealed state, and the same signed request cannot run again.
 * A host that withholds the anchor gets a job that never reads data.
 * Runs a real host (embedded chain, enclave process, API).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetBudgetSchema } from '../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { ledgerEntryHash, SignedLedgerEntrySchema } from '../../src/contracts/ledger.ts';
import type { JobSpec } from '../../src/contracts/enclave-protocol.ts';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/api-records.ts';
import { enclaveJob, settled } from '../helpers/jobs.ts';
import { DP_COUNT } from '../helpers/pipelines.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';

/** DP-SGD that would run for hours: it is still training, long after it read the rows, when the enclave is killed. */
const SLOW_DP = `obscura: 1
name: slow-dp-sgd
inputs: { visits: { columns: { age: int64, readmitted: bool } } }
steps:
  - id: m
    train: { from: visits, model: logistic_regression, features: [age], label: readmitted, options: { epochs: 10000, batch_size: 8, bounds: { age: [0, 100] } } }
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
const readJob = async (id: string) =>
  JobRecordSchema.parse(await new ApiClient(t.host.url, analyst).get(`/v1/jobs/${id}`));

beforeAll(async () => {
  t = await startDataHost();
  owner = await accountKeyFromSuri('//CrashSpendsOwner');
  analyst = await accountKeyFromSuri('//CrashSpendsAnalyst');
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

describe('a DP job whose enclave is killed after reading data has spent its budget', () => {
  let killed: JobRecord;

  it('SIGKILL mid-training: the job fails as enclave_crashed and its epsilon is spent and anchored', async () => {
    expect((await budget()).epsilon).toEqual({ total: 3, spent: 0, remaining: 3 });
    const before = t.host.workers.get('worker-1');
    const api = new ApiClient(t.host.url, analyst);
    const queued = JobRecordSchema.parse(
      await submitJob(api, analyst, { pipeline: SLOW_DP, inputs: { visits: dataset } }),
    );
    // Progress past the opening of the inputs (enclave fraction 0.5, scaled by 0.9 on the host): the rows were read.
    for (let job = await readJob(queued.id); job.progress < 0.45; job = await readJob(queued.id)) {
      expect(job.status).not.toMatch(/succeeded|failed/);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(before.pid as number, 'SIGKILL');
    killed = await settled(t.host.url, analyst, queued.id);
    expect(killed.status).toBe('failed');
    expect(killed.error?.code).toBe('enclave_crashed');
    const after = await budget();
    expect(after.epsilon).toEqual({ total: 3, spent: 0.5, remaining: 2.5 });
    expect(after.delta.spent).toBeCloseTo(1e-6, 15);
    // The spend was placed on chain before the job read anything, not left in the dead process.
    expect(after.spends).toEqual([expect.objectContaining({ job: killed.id, epsilon: 0.5 })]);
    expect(after.spends[0]?.blockNumber).toBeGreaterThan(0);
    // The runner started a new enclave process from the sealed state, which knows the spend.
    expect(t.host.workers.get('worker-1').pid).not.toBe(before.pid);
  }, 180_000);

  it('the spend survives another restart from sealed state', async () => {
    await t.host.workers.restart('worker-1');
    expect((await budget()).epsilon).toEqual({ total: 3, spent: 0.5, remaining: 2.5 });
  }, 90_000);

  it('the killed job cannot be retried for free: its signed request is used up, and a new one pays again', async () => {
    const stored = killed.request;
    if (!stored) throw new Error('the job kept no signed request');
    const enclave = t.host.workers.get('worker-1');
    const replay: JobSpec = {
      id: 'replay-of-killed',
      request: stored,
      pipeline: SLOW_DP,
      inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealedPath, manifest: signed }],
    };
    await expect(enclave.request('run_job', { job: replay })).rejects.toMatchObject({
      code: 'job_request_replayed',
    });
    const again = await settled(
      t.host.url,
      analyst,
      JobRecordSchema.parse(
        await submitJob(new ApiClient(t.host.url, analyst), analyst, {
          pipeline: DP_COUNT,
          inputs: { visits: dataset },
        }),
      ).id,
    );
    expect(again.status, JSON.stringify(again.error)).toBe('succeeded');
    expect((await budget()).epsilon.spent).toBeCloseTo(0.75, 12);
  }, 120_000);

  it('a host that withholds the anchor gets a job that never reads data', async () => {
    const enclave = t.host.workers.get('worker-1');
    const job = await enclaveJob(analyst, {
      id: 'withheld',
      pipeline: DP_COUNT,
      inputs: [{ name: 'visits', datasetId: dataset, blobPath: sealedPath, manifest: signed }],
    });
    const seen: string[] = [];
    const answer = await enclave.request('run_job', { job }, (_f, message) => seen.push(message));
    expect(Object.keys(answer)).toEqual(['ledger']);
    // Committed (counted as spent) but not run: no input was opened, no pipeline step ran.
    expect(seen).toEqual(['checking the privacy budget ledger against the chain']);
    expect((await budget()).epsilon.spent).toBeCloseTo(1, 12);
    // A placement the chain does not hold releases nothing.
    const { entry } = SignedLedgerEntrySchema.parse((answer as { ledger: unknown }).ledger);
    const fake = {
      head: { worker: entry.worker, seq: entry.seq, entry: ledgerEntryHash(entry) },
      blockNumber: 1,
      blockHash: `0x${'00'.repeat(32)}`,
      extrinsicIndex: 0,
    };
    await expect(enclave.request('confirm_ledger', { placement: fake })).rejects.toMatchObject({
      code: 'ledger_placement_invalid',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).toEqual(['checking the privacy budget ledger against the chain']);
  }, 90_000);
});
