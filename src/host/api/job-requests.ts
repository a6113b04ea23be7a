/**
 * The host's check of the analyst's signed job request that comes with POST /v1/jobs: the
 * signature, the signer is the caller, it is fresh and new, and it asks for exactly the
 * pipeline, outputs, datasets and purpose submitted. The enclave checks it again (and alone
 * decides); the host checks first so a mismatch fails at once with a clear 4xx instead of
 * as a failed job.
 */
import { ObscuraError } from '../../common/errors.ts';
import { manifestHash } from '../../crypto/manifest.ts';
import type { PipelineDocument } from '../../pipelines/index.ts';
import {
  assertJobMatchesRequest,
  assertJobRequestFresh,
  assertJobRequestSignature,
  type SignedJobRequest,
} from '../../privacy/job-request.ts';
import type { HostContext } from './context.ts';

/** How old a request may be when it is submitted (the enclave allows more: jobs wait for approvals). */
const SUBMIT_MAX_AGE_MS = 10 * 60_000;

/**
 * Throw unless `signed` is `analyst`'s fresh, unused request for this submission:
 * 'job_request_signature_invalid' (401), 'job_request_expired' (401),
 * 'job_request_mismatch' (403 for another signer, else 422) or 'job_request_replayed' (409).
 */
export function checkSubmittedRequest(
  ctx: HostContext,
  signed: SignedJobRequest,
  job: {
    analyst: string;
    doc: PipelineDocument;
    hash: string;
    inputs: Record<string, string | string[]>;
    purpose: string;
  },
  /** Datasets of other nodes, with the manifest hash each node answered (locate.ts). */
  remote: ReadonlyMap<string, { manifestHash: string }> = new Map(),
): void {
  assertJobRequestSignature(signed);
  const r = signed.request;
  if (r.analyst !== job.analyst) {
    throw new ObscuraError(
      'job_request_mismatch',
      `the job request is signed by ${r.analyst}, the API request by ${job.analyst}`,
      403,
      { field: 'analyst' },
    );
  }
  assertJobRequestFresh(r, Date.now(), SUBMIT_MAX_AGE_MS);
  if (r.purpose !== job.purpose) {
    throw new ObscuraError(
      'job_request_mismatch',
      "the job does not match the analyst's signed request: purpose: the request states another purpose than the submission",
      422,
      { field: 'purpose' },
    );
  }
  const inputs = Object.entries(job.inputs).flatMap(([name, ids]) =>
    (Array.isArray(ids) ? ids : [ids]).map((id) => {
      const elsewhere = remote.get(id);
      if (elsewhere) return { name, dataset: id, manifest: elsewhere.manifestHash };
      if (!ctx.metadata.hasDataset(id))
        throw new ObscuraError(
          'dataset_not_found',
          `input ${name} names dataset ${id}, which does not exist`,
          404,
          { input: name },
        );
      return { name, dataset: id, manifest: manifestHash(ctx.metadata.dataset(id).manifest.manifest) };
    }),
  );
  assertJobMatchesRequest(r, { pipelineHash: job.hash, outputs: Object.keys(job.doc.outputs), inputs });
  if (ctx.metadata.hasJobRequest(r.analyst, r.nonce)) {
    throw new ObscuraError(
      'job_request_replayed',
      'a job was already submitted with this signed job request; the analyst must sign a new one',
      409,
    );
  }
}
