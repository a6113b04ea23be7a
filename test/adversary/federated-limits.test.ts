/**
 * Attack: an allowed analyst escapes the per-job limits through federated training. Each
 * worker's training rounds used to run outside every limit, so a federated model with
 * endless rounds (or one endless round) held every worker it touched, and the one-at-a-time
 * job queue, for as long as it liked; a cancel took effect only between rounds, so one
 * endless round could not be cancelled at all; and a worker whose partner failed kept the
 * job's rows and models in its enclave for good.
 * Promise it would break: every job is bounded (time across all rounds, rows per worker,
 * memory) inside every enclave it runs in, and can be cancelled, mid-round, by its analyst;
 * however a federated job ends, no worker keeps its state, the other workers go on, and the
 * next job runs normally.
 * Run against a real host (embedded chain, two enclave processes, API) with small limits.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';

// The time limit is how long the endless job keeps a core busy on each of the two workers
// (both train until it stops them): long enough for the normal federated job and for the
// cancel test's first round on a loaded machine, no longer (15 s cost the suite ~30 CPU-s).
const LIMITS = { timeoutMs: 8_000, maxRows: 10_000 };
const WORKERS = ['worker-1', 'worker-2'];

const pipeline = (options: string) => `obscura: 1
name: federated-risk
inputs: { data: { columns: { x0: float64, x1: float64, region: string, y: bool } } }
steps:
  - id: m
    train: { from: data, model: logistic_regression, features: [x0, x1, region], label: y, options: { ${options} } }
outputs: { m: { min_group_size: 10 } }
`;
/** Each round alone would take hours (10,000 epochs of 60 batches), and there are 1,000 of them. */
const ENDLESS = pipeline('epochs: 10000, batch_size: 8, rounds: 1000');
const NORMAL = pipeline('epochs: 1, rounds: 2');

let t: DataHost;
let analyst: AccountKey;
/** 600 rows on each worker, and 12,000 (over the row limit) on the second. */
const small: string[] = [];
let big: string;

const api = () => new ApiClient(t.host.url, analyst);
const job = async (id: string) => JobRecordSchema.parse(await api().get(`/v1/jobs/${id}`));
const submit = async (datasets: string[], text = ENDLESS) =>
  JobRecordSchema.parse(await submitJob(api(), analyst, { pipeline: text, inputs: { data: datasets } }));

async function until(id: string, done: (j: JobRecord) => boolean, timeoutMs: number): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await job(id);
    if (done(j)) return j;
    if (Date.now() > deadline)
      throw new Error(`job ${id} still ${j.status} (${j.message ?? ''}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const ended = (j: JobRecord) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

/** The enclave processes now, and how many federated sessions each holds. */
async function enclaves(): Promise<{ pid: number | undefined; sessions: number | undefined }[]> {
  return Promise.all(
    WORKERS.map(async (id) => {
      const e = t.host.workers.get(id);
      return { pid: e.pid, sessions: (await e.refreshInfo()).federatedSessions };
    }),
  );
}

function partition(file: string, rows: number, seed0: number): void {
  let seed = seed0;
  const rnd = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const lines = ['x0,x1,region,y'];
  for (let i = 0; i < rows; i++) {
    const [x0, x1] = [rnd() * 2 - 1, rnd() * 2 - 1];
    lines.push(
      `${x0.toFixed(3)},${x1.toFixed(3)},${rnd() < 0.5 ? 'north' : 'south'},${rnd() < 1 / (1 + Math.exp(-(2 * x0 - x1)))}`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  t = await startDataHost({ workerIds: WORKERS, jobLimits: LIMITS });
  const owner = await accountKeyFromSuri('//FedLimitsOwner');
  analyst = await accountKeyFromSuri('//FedLimitsAnalyst');
  const seal = async (name: string, rows: number, worker: number) => {
    const file = join(t.work, `${name}.csv`);
    partition(file, rows, 7 + rows + worker);
    const record = t.host.workers.list()[worker];
    if (!record) throw new Error(`no worker ${worker}`);
    return (await t.seal({ owner, analysts: [analyst], file, name: `${name}.sealed`, worker: record }))
      .dataset;
  };
  small.push(await seal('small-1', 600, 0), await seal('small-2', 600, 1));
  big = await seal('big-2', 12_000, 1);
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('federated jobs under the per-job limits', () => {
  it('a federated job that would train past the time limit is stopped by it on every worker, and nothing is left behind', async () => {
    const before = await enclaves();
    const t0 = Date.now();
    const j = await until((await submit(small)).id, ended, LIMITS.timeoutMs + 40_000);
    expect(j.status).toBe('failed');
    expect(j.error).toEqual({
      code: 'job_limit_exceeded',
      message: 'the job ran longer than the time limit per job',
    });
    // The enclaves stopped their rounds themselves, near the limit: the host killed nothing.
    expect(Date.now() - t0).toBeLessThan(LIMITS.timeoutMs + 15_000);
    const after = await enclaves();
    expect(after.map((e) => e.pid)).toEqual(before.map((e) => e.pid));
    expect(after.map((e) => e.sessions)).toEqual([0, 0]);
  }, 90_000);

  it('a cancel during a round stops it promptly on every worker; the job ends cancelled', async () => {
    const before = await enclaves();
    const { id } = await submit(small);
    await until(id, (j) => /round 1 of/.test(j.message ?? ''), 60_000);
    // Well inside the first round, which alone would outlast the time limit.
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    await api().delete(`/v1/jobs/${id}`);
    const j = await until(id, ended, LIMITS.timeoutMs + 30_000);
    const took = Date.now() - t0;
    // Stopped between rounds only, it would have run on until the time limit and failed.
    expect(j).toMatchObject({ status: 'cancelled', error: { code: 'job_cancelled' } });
    expect(took).toBeLessThan(LIMITS.timeoutMs / 2);
    const after = await enclaves();
    expect(after.map((e) => e.pid)).toEqual(before.map((e) => e.pid));
    expect(after.map((e) => e.sessions)).toEqual([0, 0]);
  }, 90_000);

  it('rows are limited per worker: a partition over the row limit fails the job, and the other worker keeps nothing', async () => {
    const j = await until((await submit([small[0] as string, big], NORMAL)).id, ended, 60_000);
    expect(j.status).toBe('failed');
    expect(j.error).toEqual({
      code: 'job_limit_exceeded',
      message: 'a step of the job produced more rows than the row limit per step',
    });
    expect((await enclaves()).map((e) => e.sessions)).toEqual([0, 0]);
  }, 90_000);

  it('the next federated job runs normally on the same workers', async () => {
    const j = await until((await submit(small, NORMAL)).id, ended, 90_000);
    expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
    expect((await enclaves()).map((e) => e.sessions)).toEqual([0, 0]);
  }, 120_000);
});
