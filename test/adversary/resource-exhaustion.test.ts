/**
 * Attack: an allowed analyst submits a pipeline whose rows explode — a key that is the
 * same for every visit (here `floor(age / 1000)`: computed from a column, so no rule on
 * constant keys stops it), joined with itself twice, 2,000 visits becoming 8·10⁹ rows —
 * or one that simply runs forever, to grow the enclave without bound and hold the
 * one-at-a-time job queue so nobody else's job runs.
 * Promise it would break: every job is bounded (time, rows, memory) inside the enclave,
 * so no analyst can starve the others; a job over a limit fails with
 * `job_limit_exceeded` naming the limit and no count, and the next job runs normally —
 * also after the host had to kill the enclave process (it comes back with the same
 * identity from its sealed state).
 * Run against a real host (embedded chain, enclave process, API) with small limits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetBudgetSchema } from '../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { settled } from '../helpers/jobs.ts';

const MIB = 1024 ** 2;
// The time limit is what the slow DP job runs (a busy core) until it is stopped: long enough
// for the normal job under a loaded machine (about 2.5 s at a load of 13 on 2 cores), no longer.
const LIMITS = { timeoutMs: 8_000, maxRows: 100_000, memoryBytes: 256 * MIB };

const EXPLOSION = `obscura: 1
name: everyone-with-everyone
inputs: { visits: { columns: { patient_id: string, age: int64 } } }
steps:
  - id: keyed
    derive: { from: visits, columns: { k: "floor(age / 1000)" } }
  - id: pairs
    join: { left: keyed, right: keyed, on: [k] }
  - id: triples
    join: { left: pairs, right: keyed, on: [k] }
  - id: total
    aggregate: { from: triples, measures: { n: { count: "*" } } }
outputs: { total: { min_group_size: 10 } }
`;

/** Only the second self-join's rows are kept as a table (two steps read them): 4·10⁶ rows, over the row limit. */
const WIDE = `obscura: 1
name: pairs-twice
inputs: { visits: { columns: { patient_id: string, age: int64 } } }
steps:
  - id: keyed
    derive: { from: visits, columns: { k: "floor(age / 1000)" } }
  - id: pairs
    join: { left: keyed, right: keyed, on: [k] }
  - id: n
    aggregate: { from: pairs, measures: { n: { count: "*" } } }
  - id: oldest
    aggregate: { from: pairs, measures: { age: { max: left_age } } }
outputs: { n: { min_group_size: 10 }, oldest: { min_group_size: 10 } }
`;

/** DP-SGD that would take hours: stopped at the time limit after the enclave read the rows. */
const SLOW_DP = `obscura: 1
name: slow-dp-sgd
inputs: { visits: { columns: { age: int64, readmitted: bool } } }
steps:
  - id: m
    train: { from: visits, model: logistic_regression, features: [age], label: readmitted, options: { epochs: 10000, batch_size: 8, bounds: { age: [0, 100] } } }
outputs: { m: { min_group_size: 10, dp: { epsilon: 0.5, delta: 1.0e-6 } } }
`;

const NORMAL = readFileSync(join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'), 'utf8');

let t: DataHost;
let analyst: AccountKey;
let dataset: string;
let owner: AccountKey;
let dpDataset: string;

async function submit(pipeline: string, on = dataset): Promise<JobRecord> {
  return JobRecordSchema.parse(
    await submitJob(new ApiClient(t.host.url, analyst), analyst, { pipeline, inputs: { visits: on } }),
  );
}

/** Peak resident memory of a process so far, in bytes (Linux). */
function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

beforeAll(async () => {
  t = await startDataHost({ jobLimits: LIMITS });
  owner = await accountKeyFromSuri('//ExhaustionOwner');
  analyst = await accountKeyFromSuri('//ExhaustionAnalyst');
  ({ dataset } = await t.seal({ owner, analysts: [analyst] }));
  ({ dataset: dpDataset } = await t.seal({
    owner,
    analysts: [analyst],
    policy: 'obscura-policy: 1\ndp: { epsilon: 3, delta: 1.0e-5, max_epsilon_per_job: 1 }\n',
  }));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('resource exhaustion', () => {
  it('the enclave was started with the operator’s limits and a heap capped to them', () => {
    const w = t.host.workers.list()[0];
    expect(w?.limits).toEqual(LIMITS);
    const heap = t.host.workers.get('worker-1').info.limits?.heapBytes ?? Number.POSITIVE_INFINITY;
    // V8 adds its young generation to the old-space cap.
    expect(heap).toBeLessThan(LIMITS.memoryBytes + 128 * MIB);
  });

  it('the self-join explosion fails with job_limit_exceeded within the limits, and the enclave stays under its cap', async () => {
    const enclave = t.host.workers.get('worker-1');
    const before = peakRss(enclave.pid as number);
    const t0 = Date.now();
    const job = await settled(t.host.url, analyst, (await submit(EXPLOSION)).id, LIMITS.timeoutMs + 20_000);
    const took = Date.now() - t0;
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('job_limit_exceeded');
    expect(job.error?.message).toMatch(/memory|time/);
    expect(job.error?.message).not.toMatch(/\d/);
    expect(took).toBeLessThan(LIMITS.timeoutMs + 10_000);
    // The enclave interrupted the job itself: same process, nothing killed.
    expect(t.host.workers.get('worker-1').pid).toBe(enclave.pid);
    const grew = peakRss(enclave.pid as number) - before;
    expect(grew).toBeLessThan(LIMITS.memoryBytes * 1.5);
  }, 90_000);

  it('a kept step over the row limit fails as rows, with no count', async () => {
    const job = await settled(t.host.url, analyst, (await submit(WIDE)).id, 60_000);
    expect(job.error).toEqual({
      code: 'job_limit_exceeded',
      message: 'a step of the job produced more rows than the row limit per step',
    });
  }, 90_000);

  it('a normal job submitted afterwards succeeds', async () => {
    const job = await settled(t.host.url, analyst, (await submit(NORMAL)).id, 60_000);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  }, 90_000);

  it('a DP job stopped at the time limit after reading data still spends its epsilon', async () => {
    const spent = async () =>
      DatasetBudgetSchema.parse(
        await new ApiClient(t.host.url, owner).get(`/v1/datasets/${dpDataset}/budget`),
      ).epsilon.spent;
    expect(await spent()).toBe(0);
    const job = await settled(
      t.host.url,
      analyst,
      (await submit(SLOW_DP, dpDataset)).id,
      LIMITS.timeoutMs + 30_000,
    );
    expect(job.error).toEqual({
      code: 'job_limit_exceeded',
      message: 'the job ran longer than the time limit per job',
    });
    expect(await spent()).toBeCloseTo(0.5, 9);
  }, 90_000);

  it('after the enclave process is killed mid-job, the host restarts it with the same identity and the next job succeeds', async () => {
    const before = t.host.workers.get('worker-1');
    const identity = before.info.keys;
    const job = await submit(EXPLOSION);
    while (
      JobRecordSchema.parse(await new ApiClient(t.host.url, analyst).get(`/v1/jobs/${job.id}`)).status !==
      'running'
    )
      await new Promise((r) => setTimeout(r, 100));
    process.kill(before.pid as number, 'SIGKILL');
    const failed = await settled(t.host.url, analyst, job.id, 30_000);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('enclave_crashed');
    const next = await settled(t.host.url, analyst, (await submit(NORMAL)).id, 90_000);
    expect(next.status, JSON.stringify(next.error)).toBe('succeeded');
    const after = t.host.workers.get('worker-1');
    expect(after.pid).not.toBe(before.pid);
    expect(after.info.keys).toEqual(identity);
    expect(after.info.restored).toBe(true);
  }, 150_000);
});
