/**
 * Cancelling jobs (DELETE /v1/jobs/{id}, `obscura job cancel`) against a real host: a
 * queued job ends cancelled at once and never runs; a running job is stopped by its
 * enclave and ends cancelled; only the job's analyst may cancel; an unknown job is 404, an
 * ended one 409; the queue goes on normally afterwards.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../../src/host/api/openapi.ts';
import { ApiClient } from '../../../src/cli/client.ts';
import { submitJob } from '../../../src/client/job-request.ts';
import { type AccountKey, createKeyFile, loadAccountKey } from '../../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { type JobRecord, JobRecordSchema } from '../../../src/contracts/api-records.ts';
import { obscura } from '../../helpers/cli.ts';
import { refusal } from '../../helpers/datasets.ts';
import { type DataHost, startDataHost } from '../../helpers/data-host.ts';
import { inProcessEnclave } from '../../helpers/in-process-enclave.ts';

/** A model that trains for far longer than the test waits. */
const SLOW = `obscura: 1
name: slow-model
inputs: { visits: { columns: { age: int64, cost: float64, readmitted: bool } } }
steps:
  - id: m
    train: { from: visits, model: mlp, features: [age, cost], label: readmitted, options: { epochs: 10000, batch_size: 8, patience: 10000 } }
outputs: { m: { min_group_size: 10 } }
`;
const NORMAL = readFileSync(join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'), 'utf8');

let t: DataHost;
let analyst: AccountKey;
let stranger: AccountKey;
let owner: AccountKey;
let keyFile: string;
let dataset: string;

const api = (key?: AccountKey) => new ApiClient(t.host.url, key);
const job = async (id: string) => JobRecordSchema.parse(await api(analyst).get(`/v1/jobs/${id}`));
const submit = async (pipeline: string) =>
  JobRecordSchema.parse(await submitJob(api(analyst), analyst, { pipeline, inputs: { visits: dataset } }));

async function until(id: string, done: (j: JobRecord) => boolean, timeoutMs: number): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await job(id);
    if (done(j)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const ended = (j: JobRecord) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

beforeAll(async () => {
  t = await startDataHost({ jobLimits: { timeoutMs: 120_000 }, enclaveSpawn: inProcessEnclave });
  const newKey = async (name: string) => {
    const file = join(t.dataDir, `${name}.key`);
    await createKeyFile(file);
    return loadAccountKey(file);
  };
  keyFile = join(t.dataDir, 'analyst.key');
  analyst = await newKey('analyst');
  stranger = await newKey('stranger');
  owner = await newKey('owner');
  ({ dataset } = await t.seal({ owner, analysts: [analyst] }));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('cancelling jobs', () => {
  let running: string;
  let queued: string;

  it('is in the OpenAPI document as a signed DELETE', () => {
    expect(ROUTES.find((r) => r.method === 'delete' && r.path === '/v1/jobs/{id}')?.access).toMatchObject({
      auth: 'signed',
      reads: 'job',
    });
  });

  it('cancels a queued job at once, by its analyst only; it never runs', async () => {
    running = (await submit(SLOW)).id;
    await until(running, (j) => j.status === 'running', 60_000);
    queued = (await submit(NORMAL)).id;
    expect((await job(queued)).status).toBe('queued');

    const unsigned = await fetch(new URL(`/v1/jobs/${queued}`, t.host.url), { method: 'DELETE' });
    expect(unsigned.status).toBe(401);
    // A stranger is not told the job exists; an owner of its input may read it but not cancel it.
    const other = await refusal(api(stranger).delete(`/v1/jobs/${queued}`));
    expect(other).toMatchObject({ status: 404, code: 'job_not_found' });
    const byOwner = await refusal(api(owner).delete(`/v1/jobs/${queued}`));
    expect(byOwner).toMatchObject({ status: 403, code: 'job_cancel_forbidden' });
    expect((await job(queued)).status).toBe('queued');

    const cancelled = JobRecordSchema.parse(await api(analyst).delete(`/v1/jobs/${queued}`));
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { code: 'job_cancelled' } });
  });

  it('refuses an unknown job (404) and an ended one (409)', async () => {
    expect(await refusal(api(analyst).delete('/v1/jobs/no-such-job'))).toMatchObject({
      status: 404,
      code: 'job_not_found',
    });
    expect(await refusal(api(analyst).delete(`/v1/jobs/${queued}`))).toMatchObject({
      status: 409,
      code: 'job_finished',
    });
  });

  it('`obscura job cancel` stops a running job in its enclave; it ends cancelled', async () => {
    expect((await job(running)).status).toBe('running');
    const denied = await obscura(
      ['--api', t.host.url, 'job', 'cancel', running, '--key', join(t.dataDir, 'owner.key')],
      { cwd: t.dataDir },
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('job_cancel_forbidden');
    const unkeyed = await obscura(['--api', t.host.url, 'job', 'cancel', running], { cwd: t.dataDir });
    expect(unkeyed.code).not.toBe(0);
    expect(unkeyed.stderr).toContain('key_required');
    const t0 = Date.now();
    const r = await obscura(['--api', t.host.url, 'job', 'cancel', running, '--key', keyFile, '--wait'], {
      cwd: t.dataDir,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${running} cancelled`);
    const j = await job(running);
    expect(j).toMatchObject({ status: 'cancelled', error: { code: 'job_cancelled' } });
    expect(j.result).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(30_000);
    // The enclave stopped the job itself: the process was not killed.
    expect(t.logs.join('\n')).not.toContain('enclave restarted');
  }, 60_000);

  it('the queue goes on: the next job succeeds, the cancelled ones stay cancelled, and a succeeded job cannot be cancelled', async () => {
    const next = await until((await submit(NORMAL)).id, ended, 60_000);
    expect(next.status, JSON.stringify(next.error)).toBe('succeeded');
    expect((await job(queued)).status).toBe('cancelled');
    expect((await job(running)).status).toBe('cancelled');
    expect(await refusal(api(analyst).delete(`/v1/jobs/${next.id}`))).toMatchObject({
      status: 409,
      code: 'job_finished',
    });
    const r = await obscura(['--api', t.host.url, 'job', 'cancel', next.id, '--key', keyFile], {
      cwd: t.dataDir,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('job_finished');
  }, 90_000);
});
