/**
 * Submitting jobs to a test host as an analyst does (with a signed job request), waiting for
 * them and reading their results, and building enclave job specs.
 */
import { JobPreviewSchema, type JobPreview } from '../../src/contracts/api-schemas.ts';
import { ApiClient } from '../../src/cli/client.ts';
import {
  type JobSubmissionInput,
  signedRequestFor,
  signedRequestForInputs,
  submitJob as submitSignedJob,
} from '../../src/client/job-request.ts';
import type { AccountKey } from '../../src/crypto/index.ts';
import type { JobSpec } from '../../src/contracts/enclave-protocol.ts';
import type { OutputTable } from '../../src/contracts/result.ts';
import { documentOutputs, parseResultDocument } from '../../src/provenance/document.ts';
import { JobRecordSchema } from '../../src/contracts/api-records.ts';

/** A job record as the API returns it. */
export type JobRecord = ReturnType<typeof JobRecordSchema.parse>;

/** POST /v1/jobs as `analyst`: the queued job, or the refusal's status and code. */
export async function submitJob(
  url: string,
  analyst: AccountKey,
  body: unknown,
): Promise<{ status: number; code?: string; message?: string; job?: JobRecord }> {
  try {
    return { status: 202, job: JobRecordSchema.parse(await postJobBody(url, analyst, body)) };
  } catch (e) {
    const err = e as { status: number; code: string; message: string };
    return { status: err.status, code: err.code, message: err.message };
  }
}

/** POST /v1/jobs?dry_run=true as `analyst`. */
export async function dryRun(url: string, analyst: AccountKey, body: unknown): Promise<JobPreview> {
  return JobPreviewSchema.parse(await new ApiClient(url, analyst).post('/v1/jobs?dry_run=true', body));
}

/** Wait until the job has ended, reading it as `analyst` (settled, from a record in hand). */
export async function finished(
  url: string,
  analyst: AccountKey,
  job: JobRecord,
  timeoutMs = 90_000,
): Promise<JobRecord> {
  if (job.status === 'succeeded' || job.status === 'failed') return job;
  return settled(url, analyst, job.id, timeoutMs);
}

/**
 * Read job `id` as `reader` every 200 ms until it has ended (succeeded, failed or
 * cancelled) and return it; throws when it has not ended after `timeoutMs`.
 */
export async function settled(
  url: string,
  reader: AccountKey,
  id: string,
  timeoutMs = 90_000,
): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = JobRecordSchema.parse(await new ApiClient(url, reader).get(`/v1/jobs/${id}`));
    if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled') return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Submit, wait for success and return the result's output tables. */
export async function runToResult(
  url: string,
  analyst: AccountKey,
  body: unknown,
): Promise<Record<string, OutputTable>> {
  const r = await submitJob(url, analyst, body);
  if (!r.job) throw new Error(`job refused: ${r.code} ${r.message}`);
  const job = await finished(url, analyst, r.job);
  if (job.status !== 'succeeded') throw new Error(`job failed: ${JSON.stringify(job.error)}`);
  return resultOutputs(url, analyst, job.result as string);
}

/**
 * GET /v1/results/{id} as `reader` and open its outputs the way `obscura result` does:
 * decrypted with the reader's key and checked against the hashes the enclave signed (public
 * results as they are). The one way tests read output tables through the API.
 */
export async function resultOutputs(
  url: string,
  reader: AccountKey,
  id: string,
): Promise<Record<string, OutputTable>> {
  const doc = parseResultDocument(await new ApiClient(url, reader).get(`/v1/results/${id}`));
  return documentOutputs(doc, reader);
}

/** POST /v1/jobs at `url` as `analyst`, with the analyst's signed request for exactly this job. */
export function postJob(url: string, analyst: AccountKey, job: JobSubmissionInput): Promise<unknown> {
  return submitSignedJob(new ApiClient(url, analyst), analyst, job);
}

/** A job spec as an honest host hands it to the enclave: the analyst's signed request for these inputs. */
export async function enclaveJob(
  analyst: AccountKey,
  job: { id: string; pipeline: string; inputs: JobSpec['inputs']; purpose?: string },
): Promise<JobSpec> {
  const request = await signedRequestForInputs(analyst, job.pipeline, job.inputs, job.purpose);
  return { id: job.id, request, pipeline: job.pipeline, inputs: job.inputs };
}

/**
 * POST /v1/jobs with `body` as given, plus the analyst's signed request when it has none and
 * one can be made for it (a body naming a missing dataset or lacking a pipeline goes
 * without, so the host's own refusal of it shows).
 */
export async function postJobBody(url: string, analyst: AccountKey, body: unknown): Promise<unknown> {
  const api = new ApiClient(url, analyst);
  const b = body as Partial<JobSubmissionInput>;
  let request: unknown;
  if (typeof b.pipeline === 'string' && b.inputs && !('request' in b)) {
    request = await signedRequestFor(api, analyst, b as JobSubmissionInput).catch(() => undefined);
  }
  return api.post('/v1/jobs', request ? { ...(body as object), request } : body);
}
