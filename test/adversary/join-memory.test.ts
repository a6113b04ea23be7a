/**
 * Attack: an allowed analyst submits joins whose inputs cannot fit in the enclave's memory
 * — here one dataset bound to each of eight joined inputs, so the enclave would hold its
 * decrypted columns eight times beside DuckDB — to exhaust the enclave (a job using several
 * times its memory limit takes the process, and every other job, down with it), and
 * submits them as DP jobs, hoping each failure costs nothing or tells something about the
 * rows.
 * Promise it would break: one memory budget per job (enclave/job-memory.ts): a job whose
 * inputs cannot fit their share of the memory limit per job is refused before it spends or
 * reads anything, with `job_input_too_large` naming each input, its size and the limit —
 * bounds from the manifests, the same whatever the rows hold — and how to raise the limit;
 * no budget is spent, no result exists, and the enclave runs the next job normally.
 * Runs a real host (embedded chain, the real enclave in-process, API) at the 128 MiB floor.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetBudgetSchema } from '../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { finished } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const MIB = 1024 ** 2;
const LIMITS = { memoryBytes: 128 * MIB };

const SIDES = 'abcdefgh'.split('');

/** A DP count over a join of eight inputs on patient_id (the attack binds one dataset to each). */
const JOIN = `obscura: 1
name: huge-join
inputs:
${SIDES.map((x) => `  ${x}: { columns: { patient_id: string } }`).join('\n')}
steps:
${SIDES.slice(1)
  .map(
    (x, i) =>
      `  - id: j${x}\n    join: { left: ${i === 0 ? 'a' : `j${SIDES[i]}`}, right: ${x}, on: [patient_id], how: inner, unique: true }`,
  )
  .join('\n')}
  - id: n
    aggregate: { from: jh, measures: { n: { count: "*" } } }
outputs: { n: { min_group_size: 10, dp: { epsilon: 0.5, delta: 1.0e-6 } } }
`;

/** A count over one side, without DP (no spend to anchor: quick): its input fits. */
const ONE_SIDE = `obscura: 1
name: one-side
inputs:
  a: { columns: { age: int64 } }
steps:
  - id: n
    aggregate: { from: a, measures: { n: { count: "*" } } }
outputs: { n: { min_group_size: 10 } }
`;

let t: DataHost;
let owner: AccountKey;
let analyst: AccountKey;
let dataset: string;

const budget = async () =>
  DatasetBudgetSchema.parse(await new ApiClient(t.host.url, owner).get(`/v1/datasets/${dataset}/budget`));

async function run(pipeline: string, inputs: Record<string, string>): Promise<JobRecord> {
  const api = new ApiClient(t.host.url, analyst);
  return finished(
    t.host.url,
    analyst,
    JobRecordSchema.parse(await submitJob(api, analyst, { pipeline, inputs })),
  );
}

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave, jobLimits: LIMITS });
  owner = await accountKeyFromSuri('//JoinMemoryOwner');
  analyst = await accountKeyFromSuri('//JoinMemoryAnalyst');
  // 7 MB of plaintext in 7,000 rows (long notes: cheap to parse): one copy of its columns
  // fits the 48 MiB inputs may hold at the 128 MiB floor, eight do not.
  const lines = ['patient_id,age,note'];
  for (let i = 0; i < 7_000; i++) lines.push(`p${i},${20 + (i % 60)},${'n'.repeat(1000)}`);
  const file = join(t.work, 'large.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  ({ dataset } = await t.seal({
    owner,
    analysts: [analyst],
    file,
    policy: 'obscura-policy: 1\ndp: { epsilon: 3, delta: 1.0e-5, max_epsilon_per_job: 1 }\n',
  }));
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('joins beyond the memory limit per job', () => {
  it('are refused before any spend, naming the inputs, their sizes and the limit, and nothing about the rows', async () => {
    const before = await budget();
    const job = await run(JOIN, Object.fromEntries(SIDES.map((x) => [x, dataset])));
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('job_input_too_large');
    const message = job.error?.message ?? '';
    expect(message).toContain(`a (dataset ${dataset})`);
    expect(message).toContain(`h (dataset ${dataset})`);
    expect(message).toContain(`${LIMITS.memoryBytes} bytes`);
    expect(message).toContain('--job-memory');
    // Sizes only: no value of the dataset appears (its ids, ages or notes).
    expect(message).not.toMatch(/\bp\d+\b|nnnn/);
    expect(job.result).toBeUndefined();
    const after = await budget();
    expect(after.epsilon).toEqual(before.epsilon);
    expect(after.spends).toEqual(before.spends);
    // Asked again, the same answer, still free: it depends on the manifests, not on the rows.
    const again = await run(JOIN, Object.fromEntries(SIDES.map((x) => [x, dataset])));
    expect(again.error).toEqual(
      job.error ? { ...job.error, message: message.replace(job.id, again.id) } : undefined,
    );
    expect((await budget()).epsilon).toEqual(before.epsilon);
  }, 120_000);

  it('leave the enclave running the next job normally', async () => {
    const job = await run(ONE_SIDE, { a: dataset });
    expect(job.status).toBe('succeeded');
    expect(job.result).toBeDefined();
  }, 120_000);
});
