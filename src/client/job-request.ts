import type { AccountKey } from '../crypto/keys.ts';
import { manifestHash, type SignedManifest } from '../crypto/manifest.ts';
import { bindingFromRecord } from '../privacy/job-binding.ts';
import { type JobRequestBinding, type SignedJobRequest, signJobRequest } from '../privacy/job-request.ts';
import { DatasetRecordSchema } from '../contracts/api-records.ts';
import { type ObscuraClient as ApiClient, ObscuraClient as ApiClientClass } from './client.ts';
import { isObscuraError } from '../common/errors.ts';

/** What an analyst submits: the pipeline text, a dataset id per input (a list: federated), a purpose. */
export interface JobSubmissionInput {
  pipeline: string;
  inputs: Record<string, string | string[]>;
  purpose?: string;
}

async function binding(api: ApiClient, id: string, key: AccountKey): Promise<JobRequestBinding> {
  const path = `/v1/datasets/${encodeURIComponent(id)}`;
  let record: unknown;
  try {
    record = await api.get(path);
  } catch (e) {
    if (!isObscuraError(e, 'dataset_not_found')) throw e;
    // A dataset of another node: asked of each node the chain lists, as this analyst (each
    // node answers only whom its owners allow). The manifest's signature and hash are checked below.
    record = await fromOtherNodes(api, path, key, e);
  }
  return bindingFromRecord(id, DatasetRecordSchema.parse(record));
}

async function fromOtherNodes(
  api: ApiClient,
  path: string,
  key: AccountKey,
  notHere: unknown,
): Promise<unknown> {
  const { nodes } = (await api.get('/v1/nodes')) as { nodes: { url: string; self?: boolean }[] };
  for (const n of nodes) {
    if (n.self || n.url.replace(/\/+$/, '') === api.base.replace(/\/+$/, '')) continue;
    try {
      return await new ApiClientClass(n.url, key).get(path);
    } catch {
      // Not there (or not answering): the next node.
    }
  }
  throw notHere;
}

/** Sign `key`'s request for this submission, with manifest hashes looked up through `api`. */
export async function signedRequestFor(
  api: ApiClient,
  key: AccountKey,
  job: JobSubmissionInput,
): Promise<SignedJobRequest> {
  // Loaded on demand: the pipelines module pulls in DuckDB.
  const { parsePipeline, pipelineHash } = await import('../pipelines/index.ts');
  const doc = parsePipeline(job.pipeline);
  const inputs: Record<string, JobRequestBinding | JobRequestBinding[]> = {};
  for (const [name, ids] of Object.entries(job.inputs)) {
    inputs[name] = Array.isArray(ids)
      ? await Promise.all(ids.map((id) => binding(api, id, key)))
      : await binding(api, ids, key);
  }
  return signJobRequest(
    {
      pipeline: pipelineHash(doc),
      inputs,
      ...(job.purpose ? { purpose: job.purpose } : {}),
      outputs: Object.keys(doc.outputs),
    },
    key,
  );
}

/**
 * Sign `key`'s request for a job over sealed inputs as the enclave receives them (one
 * dataset per entry; the same name again binds a federated list): for driving an enclave
 * directly, as benchmarks and tests do.
 */
export async function signedRequestForInputs(
  key: AccountKey,
  pipeline: string,
  inputs: readonly { name: string; datasetId: string; manifest: SignedManifest }[],
  purpose?: string,
): Promise<SignedJobRequest> {
  const { parsePipeline, pipelineHash } = await import('../pipelines/index.ts');
  const doc = parsePipeline(pipeline);
  const bound: Record<string, JobRequestBinding | JobRequestBinding[]> = {};
  for (const i of inputs) {
    const b = { dataset: i.datasetId, manifest: manifestHash(i.manifest.manifest) };
    const had = bound[i.name];
    bound[i.name] = had === undefined ? b : [...(Array.isArray(had) ? had : [had]), b];
  }
  return signJobRequest(
    {
      pipeline: pipelineHash(doc),
      inputs: bound,
      ...(purpose ? { purpose } : {}),
      outputs: Object.keys(doc.outputs),
    },
    key,
  );
}

/** POST /v1/jobs with `key`'s signed request; returns the API's answer (a job record). */
export async function submitJob(api: ApiClient, key: AccountKey, job: JobSubmissionInput): Promise<unknown> {
  const request = await signedRequestFor(api, key, job);
  return api.post('/v1/jobs', { ...job, request });
}
