/** Fetching and checking a worker's attestation with a fresh nonce, as `workers` and `seal` do. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { WorkerRecordSchema, type WorkerRecord } from '../api/workers.ts';
import { type AttestationVerdict, EvidenceSchema, verifyEvidence } from '../attestation/index.ts';
import type { ApiClient } from './client.ts';

const WorkersSchema = z.object({ workers: z.array(WorkerRecordSchema) });
const AttestationSchema = z.object({ evidence: EvidenceSchema });

/** The workers the API lists. */
export async function listWorkers(api: ApiClient): Promise<WorkerRecord[]> {
  return WorkersSchema.parse(await api.get('/v1/workers')).workers;
}

/** Ask a worker for evidence bound to a nonce made here, and verify it. */
export async function attestWorker(
  api: ApiClient,
  worker: WorkerRecord,
  opts: { allowSimulated: boolean; measurements?: readonly string[] },
): Promise<AttestationVerdict> {
  const nonce = randomBytes(32).toString('hex');
  const { evidence } = AttestationSchema.parse(await api.get(`/v1/workers/${encodeURIComponent(worker.id)}/attestation?nonce=${nonce}`));
  const verdict = await verifyEvidence(evidence, {
    nonce,
    keys: { recipient: worker.recipient, signingKey: worker.signingKey },
    allowSimulated: opts.allowSimulated,
    ...(opts.measurements ? { measurements: opts.measurements } : {}),
  });
  return verdict;
}
