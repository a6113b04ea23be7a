/** Submitting jobs to a test host as an analyst, waiting for them and reading their results. */
import { ApiClient } from '../../src/cli/client.ts';
import type { AccountKey } from '../../src/crypto/index.ts';
import { JobPreviewSchema, type JobPreview } from '../../src/api/schemas.ts';
import type { OutputTable } from '../../src/enclave/result.ts';
import { JobRecordSchema } from '../../src/store/records.ts';

/** A job record as the API returns it. */
export type JobRecord = ReturnType<typeof JobRecordSchema.parse>;

/** POST /v1/jobs as `analyst`: the queued job, or the refusal's status and code. */
export async function submitJob(url: string, analyst: AccountKey, body: unknown): Promise<{ status: number; code?: string; message?: string; job?: JobRecord }> {
  try {
    return { status: 202, job: JobRecordSchema.parse(await new ApiClient(url, analyst).post('/v1/jobs', body)) };
  } catch (e) {
    const err = e as { status: number; code: string; message: string };
    return { status: err.status, code: err.code, message: err.message };
  }
}

/** POST /v1/jobs?dry_run=true as `analyst`. */
export async function dryRun(url: string, analyst: AccountKey, body: unknown): Promise<JobPreview> {
  return JobPreviewSchema.parse(await new ApiClient(url, analyst).post('/v1/jobs?dry_run=true', body));
}

/** Wait until the job has finished, reading it as `analyst`. */
export async function finished(url: string, analyst: AccountKey, job: JobRecord, timeoutMs = 90_000): Promise<JobRecord> {
  const until = Date.now() + timeoutMs;
  let j = job;
  while (j.status !== 'succeeded' && j.status !== 'failed') {
    if (Date.now() > until) throw new Error(`job ${j.id} still ${j.status}`);
    await new Promise((res) => setTimeout(res, 200));
    j = JobRecordSchema.parse(await new ApiClient(url, analyst).get(`/v1/jobs/${j.id}`));
  }
  return j;
}

/** Submit, wait for success and return the result's output tables. */
export async function runToResult(url: string, analyst: AccountKey, body: unknown): Promise<Record<string, OutputTable>> {
  const r = await submitJob(url, analyst, body);
  if (!r.job) throw new Error(`job refused: ${r.code} ${r.message}`);
  const job = await finished(url, analyst, r.job);
  if (job.status !== 'succeeded') throw new Error(`job failed: ${JSON.stringify(job.error)}`);
  const doc = (await new ApiClient(url, analyst).get(`/v1/results/${job.result}`)) as { signed: { result: { outputs: Record<string, OutputTable> } } };
  return doc.signed.result.outputs;
}
