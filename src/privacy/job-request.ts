/**
 * What an analyst signs to run a job: the pipeline (by hash), each input bound to a dataset
 * (its id and manifest hash; a federated input to a list of them), the purpose text, the
 * outputs asked for, the age recipient results are for, a random nonce and the time. It is
 * sr25519-signed by the analyst over a domain-separated JCS form, like the owners'
 * statements (statements.ts), so the untrusted host can carry it but never make one up:
 * the enclave takes the analyst only from a request whose signature it verified, checks it
 * against the pipeline text and manifests it was given, and puts it in the signed result.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { canonicalJson, hashJson, sha256Hex } from '../common/hash.ts';
import { parseOrThrow } from '../common/validate.ts';
import type { AccountKey } from '../crypto/keys.ts';
import {
  AccountAddressSchema as address,
  AccountSignatureSchema as signature,
  signStatement,
  verifyStatement,
} from '../crypto/statement.ts';
import { ResultRecipientSchema } from '../crypto/result-key.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters');
const name = z.string().min(1).max(128);

/** One dataset bound to an input: the API's dataset id and the manifest hash it names. */
export const JobRequestBindingSchema = z.strictObject({
  dataset: z.string().min(1).max(128),
  manifest: sha256,
});
/** A dataset bound to an input. */
export type JobRequestBinding = z.infer<typeof JobRequestBindingSchema>;

/** How long after its creation the enclave still runs a request (jobs may wait for owners' approvals). */
export const JOB_REQUEST_MAX_AGE_MS = 7 * 24 * 3600_000;
/** How far ahead of the enclave's clock a request may be dated (clock skew). */
export const JOB_REQUEST_MAX_SKEW_MS = 5 * 60_000;

/** A job request as the analyst signs it. */
export const JobRequestSchema = z.strictObject({
  obscura: z.literal('job-request/1'),
  analyst: address,
  pipeline: sha256,
  /** Input name → its dataset, or (federated training) the list of its partitions. */
  inputs: z
    .record(name, z.union([JobRequestBindingSchema, z.array(JobRequestBindingSchema).min(2).max(16)]))
    .refine((r) => Object.keys(r).length > 0, 'expected at least one input'),
  /** What the result is for; owners approve a pipeline for this purpose (its SHA-256). */
  purpose: z.string().max(2000),
  /** The pipeline's output step names the analyst asks for. */
  outputs: z.array(name).min(1),
  /** The analyst's age X25519 recipient, derived from the account key (crypto/result-key.ts). */
  recipient: ResultRecipientSchema,
  nonce: sha256,
  createdAt: z.iso.datetime(),
});
/** A job request. */
export type JobRequest = z.infer<typeof JobRequestSchema>;
/** A job request with the analyst's signature. */
export const SignedJobRequestSchema = z.strictObject({ request: JobRequestSchema, signature });
/** A signed job request. */
export type SignedJobRequest = z.infer<typeof SignedJobRequestSchema>;

/** The domain line of a job request's signature (crypto/statement.ts). */
const DOMAIN = 'obscura-job-request/1';

/** SHA-256 (hex) of a purpose text, as approvals bind it. */
export function purposeHash(purpose: string): string {
  return sha256Hex(purpose);
}

/** The identity of a request (without its signature): the key its single use is recorded under. */
export function jobRequestHash(r: JobRequest): string {
  return hashJson(r);
}

/** Sign a job request as `analyst`; the nonce is fresh and the outputs sorted. */
export function signJobRequest(
  args: { pipeline: string; inputs: JobRequest['inputs']; purpose?: string; outputs: string[] },
  analyst: AccountKey,
  now = new Date(),
): SignedJobRequest {
  const request = JobRequestSchema.parse({
    obscura: 'job-request/1',
    analyst: analyst.address,
    pipeline: args.pipeline,
    inputs: args.inputs,
    purpose: args.purpose ?? '',
    outputs: [...args.outputs].sort(),
    recipient: analyst.resultRecipient,
    nonce: randomBytes(32).toString('hex'),
    createdAt: now.toISOString(),
  });
  return { request, signature: signStatement(DOMAIN, request, analyst) };
}

/** Parse untrusted JSON as a signed job request; throws 'job_request_invalid' naming the field. */
export function parseSignedJobRequest(value: unknown): SignedJobRequest {
  return parseOrThrow(SignedJobRequestSchema, value, { code: 'job_request_invalid', what: 'job request' });
}

/** Whether the analyst the request names signed it. */
export function jobRequestSignatureValid(signed: SignedJobRequest): boolean {
  return verifyStatement(DOMAIN, signed.request, signed.request.analyst, signed.signature);
}

/** Throw 'job_request_signature_invalid' (401) unless the analyst the request names signed it. */
export function assertJobRequestSignature(signed: SignedJobRequest): void {
  if (!jobRequestSignatureValid(signed)) {
    throw new ObscuraError(
      'job_request_signature_invalid',
      `the job request's signature does not verify for analyst ${signed.request.analyst}`,
      401,
    );
  }
}

/**
 * Throw 'job_request_expired' (401) unless the request was made within the last
 * JOB_REQUEST_MAX_AGE_MS (or `maxAgeMs`) and is not dated in the future beyond the skew.
 */
export function assertJobRequestFresh(r: JobRequest, now: number, maxAgeMs = JOB_REQUEST_MAX_AGE_MS): void {
  const t = Date.parse(r.createdAt);
  if (t > now + JOB_REQUEST_MAX_SKEW_MS)
    throw new ObscuraError(
      'job_request_expired',
      `the job request is dated ${r.createdAt}, in the future`,
      401,
    );
  if (now - t > maxAgeMs)
    throw new ObscuraError(
      'job_request_expired',
      `the job request was made at ${r.createdAt}, more than ${Math.round(maxAgeMs / 60_000)} minutes ago`,
      401,
    );
}

/** A request's bindings as a flat list of (input name, binding). */
export function requestBindings(r: JobRequest): { name: string; binding: JobRequestBinding }[] {
  return Object.entries(r.inputs).flatMap(([n, b]) =>
    (Array.isArray(b) ? b : [b]).map((binding) => ({ name: n, binding })),
  );
}

function mismatch(what: string): ObscuraError {
  return new ObscuraError(
    'job_request_mismatch',
    `the job does not match the analyst's signed request: ${what}`,
    422,
    { field: what.split(' ')[0] },
  );
}

/**
 * Throw 'job_request_mismatch' (422), naming what differs, unless the job is what the
 * request asks for: the pipeline hash, the output names, and the datasets given for each
 * input. With `partial` (one worker's share of a federated job) each dataset given must be
 * one the request binds to its input; otherwise the datasets given must be exactly those bound.
 */
export function assertJobMatchesRequest(
  r: JobRequest,
  job: {
    pipelineHash: string;
    outputs: string[];
    inputs: { name: string; dataset: string; manifest: string }[];
  },
  opts: { partial?: boolean } = {},
): void {
  if (job.pipelineHash !== r.pipeline)
    throw mismatch(`pipeline: the request is for ${r.pipeline}, the job runs ${job.pipelineHash}`);
  if (canonicalJson([...job.outputs].sort()) !== canonicalJson([...r.outputs].sort())) {
    throw mismatch(
      `outputs: the request asks for ${r.outputs.join(', ')}, the pipeline releases ${job.outputs.join(', ')}`,
    );
  }
  const bound = requestBindings(r);
  const key = (n: string, b: { dataset: string; manifest: string }) =>
    `${n}\u0000${b.dataset}\u0000${b.manifest}`;
  const wanted = new Set(bound.map((b) => key(b.name, b.binding)));
  const given = new Set<string>();
  for (const i of job.inputs) {
    const k = key(i.name, i);
    if (!wanted.has(k))
      throw mismatch(
        `inputs: input ${i.name} is given dataset ${i.dataset} (manifest ${i.manifest.slice(0, 16)}…), which the request does not bind to it`,
      );
    if (given.has(k)) throw mismatch(`inputs: dataset ${i.dataset} is given twice for input ${i.name}`);
    given.add(k);
  }
  if (!opts.partial && given.size !== wanted.size) {
    const missing = bound.find((b) => !given.has(key(b.name, b.binding)));
    throw mismatch(
      `inputs: the request binds dataset ${missing?.binding.dataset} to input ${missing?.name}, which the job lacks`,
    );
  }
}
