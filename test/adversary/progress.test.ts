/**
 * Attack: read the data off a job's progress. Progress was computed from row counts (the
 * share of input rows loaded so far), and a job's progress is public while it runs, so the
 * fractions told the sizes of the inputs, and any progress that follows the rows a step
 * keeps would tell how many rows a filter kept.
 * The promise it breaks: progress comes from the plan only (steps done of steps planned):
 * the same pipeline over two datasets of the same schema but different sizes and contents
 * reports exactly the same fractions and messages, from the enclave and in the job record.
 * Runs a real host (embedded chain, the real enclave in-process, API).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { enclaveJob } from '../helpers/jobs.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { type JobRecord, JobRecordSchema } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost, VISITS_CSV } from '../helpers/data-host.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

/** Two inputs: loading progress by rows would move by the first input's share of all rows. */
const JOIN = `obscura: 1
name: progress-join
inputs:
  a: { columns: { patient_id: string, region: string, age: int32 } }
  b: { columns: { patient_id: string, cost: float64 } }
steps:
  - id: adults
    filter: { from: a, where: "age >= 18" }
  - id: j
    join: { left: adults, right: b, on: [patient_id] }
  - id: by_region
    aggregate: { from: j, group_by: [region], measures: { n: { count: "*" }, total: { sum: cost } } }
outputs: { by_region: { min_group_size: 10 } }
`;
const TRAIN = `obscura: 1
name: progress-train
inputs: { visits: { columns: { age: int32, cost: float64, readmitted: bool } } }
steps:
  - id: kept
    filter: { from: visits, where: "cost IS NOT NULL AND age > 30" }
  - id: m
    train: { from: kept, model: logistic_regression, features: [age, cost], label: readmitted, options: { epochs: 3, batch_size: 64, patience: 1 } }
outputs: { m: { min_group_size: 10 } }
`;

let t: DataHost;
let owner: AccountKey;
let analyst: AccountKey;
const datasets: { id: string; signed: SignedManifest; path: string }[] = [];

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//ProgressOwner');
  analyst = await accountKeyFromSuri('//ProgressAnalyst');
  // The second dataset: the same schema, a sixth of the rows, other ages and costs.
  const [header, ...lines] = readFileSync(VISITS_CSV, 'utf8').trim().split('\n');
  const other = lines.slice(0, 333).map((l) => {
    const c = l.split(',');
    return [
      c[0],
      c[1],
      String(Math.min(99, Number(c[2]) + 7)),
      c[3] ? (Number(c[3]) * 1.7).toFixed(2) : '',
      c[4],
      c[5],
    ].join(',');
  });
  const small = join(t.work, 'small.csv');
  writeFileSync(small, `${header}\n${other.join('\n')}\n`);
  for (const [i, file] of [VISITS_CSV, small].entries()) {
    const { dataset, signed, sealed } = await t.seal({
      owner,
      analysts: [analyst],
      file,
      name: `${i}.sealed`,
    });
    datasets.push({ id: dataset, signed, path: sealed });
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
});

/** Every progress report the enclave sends while running `pipeline` with its inputs bound to datasets by index. */
async function enclaveProgress(pipeline: string, bound: Record<string, number>): Promise<[number, string][]> {
  const enclave = t.host.workers.get(t.worker.id);
  const seen: [number, string][] = [];
  const inputs = Object.entries(bound).map(([name, i]) => {
    const d = datasets[i] as (typeof datasets)[number];
    return { name, datasetId: d.id, blobPath: d.path, manifest: d.signed };
  });
  const job = await enclaveJob(analyst, { id: `progress-${JSON.stringify(bound)}`, pipeline, inputs });
  await enclave.request('run_job', { job }, (fraction, message) => seen.push([fraction, message]));
  return seen;
}

async function run(pipeline: string, bound: Record<string, number>): Promise<JobRecord> {
  const api = new ApiClient(t.host.url, analyst);
  const inputs = Object.fromEntries(
    Object.entries(bound).map(([name, i]) => [name, datasets[i]?.id as string]),
  );
  let job = JobRecordSchema.parse(await submitJob(api, analyst, { pipeline, inputs }));
  while (job.status !== 'succeeded' && job.status !== 'failed') {
    await new Promise((r) => setTimeout(r, 100));
    job = JobRecordSchema.parse(await api.get(`/v1/jobs/${job.id}`));
  }
  return job;
}

describe('progress comes from the plan', () => {
  for (const [name, pipeline, bindings] of [
    [
      'a join of two inputs',
      JOIN,
      [
        { a: 0, b: 0 },
        { a: 1, b: 0 },
      ],
    ],
    ['a train job', TRAIN, [{ visits: 0 }, { visits: 1 }]],
  ] as const) {
    it(`${name} reports the same fractions and messages for datasets of different sizes and contents`, async () => {
      const [one, other] = bindings;
      const big = await enclaveProgress(pipeline, one);
      const small = await enclaveProgress(pipeline, other);
      expect(big.length).toBeGreaterThan(2);
      expect(small).toEqual(big);
      const records = [await run(pipeline, one), await run(pipeline, other)];
      for (const r of records) expect(r.status, JSON.stringify(r.error)).toBe('succeeded');
      expect(records.map((r) => [r.progress, r.message])).toEqual([
        [records[0]?.progress, records[0]?.message],
        [records[0]?.progress, records[0]?.message],
      ]);
    }, 120_000);
  }
});
