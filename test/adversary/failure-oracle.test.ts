/**
 * Attack: use a job's failure as an exact oracle. An analyst the owner allowed isolates one
 * patient with a filter and reads the answer off how the job fails: a train job said
 * "1 rows to train on, fewer than the 10 required" or "0 rows …", so `patient_id = X AND
 * readmitted` told whether X was readmitted; and a DP aggregate whose filter is
 * `CASE WHEN patient_id = X AND readmitted THEN ln(0 - age) ELSE 1 END > 0` failed in
 * DuckDB exactly when the predicate held (DP noise cannot hide a failure).
 * The promise it breaks: what a job's failure makes public depends only on the pipeline
 * and the schemas. Failures after the enclave read data carry one code and one fixed
 * message, with no number, in the job record, its progress and the host's logs alike;
 * functions give NULL outside their domain instead of raising.
 * Runs a real host (embedded chain, the real enclave in-process, API).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { DATA_CONDITION_CODE } from '../../src/enclave/data-condition.ts';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost, VISITS_CSV } from '../helpers/data-host.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';
import { finished } from '../helpers/jobs.ts';

const rows = readFileSync(VISITS_CSV, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
/** Patients by whether they were readmitted (column 4). */
const readmitted = rows.filter((r) => r[4] === 'true').map((r) => r[0] as string);
const notReadmitted = rows.filter((r) => r[4] === 'false').map((r) => r[0] as string);

/** A logistic regression on the rows `where` keeps; min_group_size 10. */
const train = (where: string) => `obscura: 1
name: probe-train
inputs: { visits: { columns: { patient_id: string, age: int64, readmitted: bool } } }
steps:
  - id: kept
    filter: { from: visits, where: ${JSON.stringify(where)} }
  - id: m
    train: { from: kept, model: logistic_regression, features: [age], label: readmitted, options: { epochs: 2, batch_size: 64 } }
outputs: { m: { min_group_size: 10 } }
`;

/** The ln(0 - age) probe of one patient, as a DP count. */
const lnProbe = (patient: string) => `obscura: 1
name: probe-ln
inputs: { visits: { columns: { patient_id: string, age: int64, readmitted: bool } } }
steps:
  - id: kept
    filter: { from: visits, where: "CASE WHEN patient_id = '${patient}' AND readmitted THEN ln(0 - age) ELSE 1 END > 0" }
  - id: n
    aggregate: { from: kept, measures: { n: { count: "*" } } }
outputs: { n: { dp: { epsilon: 0.5 } } }
`;

let t: DataHost;
let owner: AccountKey;
let analyst: AccountKey;
let plain: string;
let dpRequired: string;

async function run(pipeline: string, dataset: string): Promise<JobRecord> {
  const api = new ApiClient(t.host.url, analyst);
  let job = JobRecordSchema.parse(await submitJob(api, analyst, { pipeline, inputs: { visits: dataset } }));
  job = await finished(t.host.url, analyst, job);
  return job;
}

/** What anyone reading the job learns of how it ended. */
const ending = (job: JobRecord) => ({
  status: job.status,
  error: job.error,
  progress: job.progress,
  message: job.message,
});

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//OracleOwner');
  analyst = await accountKeyFromSuri('//OracleAnalyst');
  ({ dataset: plain } = await t.seal({
    owner,
    analysts: [analyst],
    policy: 'obscura-policy: 1\nmin_group_size: 10\n',
  }));
  ({ dataset: dpRequired } = await t.seal({
    owner,
    analysts: [analyst],
    policy:
      'obscura-policy: 1\nmin_group_size: 10\ndp: { epsilon: 3, max_epsilon_per_job: 1, required: true }\n',
  }));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('a failure is not an oracle', () => {
  it('a train job isolating one patient fails identically whether 0, 1 or a few rows match, with no number', async () => {
    const x = notReadmitted[0] as string;
    const few = notReadmitted.slice(0, 4).map((p) => `'${p}'`);
    const zero = await run(train(`patient_id = '${x}' AND readmitted`), plain);
    const one = await run(train(`patient_id = '${x}'`), plain);
    const four = await run(train(`patient_id IN (${few.join(', ')})`), plain);
    expect(zero.status).toBe('failed');
    expect(zero.error?.code).toBe(DATA_CONDITION_CODE);
    expect(zero.error?.message).not.toMatch(/\d/);
    expect(zero.message).not.toMatch(/\d/);
    expect(ending(one)).toEqual(ending(zero));
    expect(ending(four)).toEqual(ending(zero));
    // The detailed reason stays in the enclave: not in the host's logs either.

    const about = t.logs.filter((l) => [zero, one, four].some((j) => l.includes(j.id)));
    expect(about.length).toBeGreaterThan(0);
    for (const line of about) expect(line).not.toMatch(/ml_too_few_rows|\d+ rows|fewer than/);
    // Many rows: the same pipeline trains.
    const many = await run(train('age >= 0'), plain);
    expect(many.status, JSON.stringify(many.error)).toBe('succeeded');
  }, 180_000);

  it('the ln(0 - age) probe yields NULL: the job ends the same whether the patient was readmitted or not', async () => {
    const yes = await run(lnProbe(readmitted[0] as string), dpRequired);
    const no = await run(lnProbe(notReadmitted[0] as string), dpRequired);
    expect(yes.status, JSON.stringify(yes.error)).toBe('succeeded');
    expect(ending(yes)).toEqual(ending(no));
  }, 120_000);
});
