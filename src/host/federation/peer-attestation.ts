/**
 * Whether a node's workers attest now: for each worker its record lists, this host asks the
 * node's API for evidence bound to a nonce of its own, and verifies it against the keys the
 * record names and the measurements this node accepts (its own workers' code). A record
 * alone proves nothing about the code; fresh evidence does.
 */
import { EvidenceSchema } from '../../attestation/evidence.ts';
import { verifyEvidence } from '../../attestation/verify.ts';
import { errorMessage } from '../../common/errors.ts';
import type { NodeRecord, NodeWorker } from '../../contracts/node-record.ts';
import { freshNonce } from './registry.ts';

/** How long one worker's evidence may take to arrive. */
export const ATTESTATION_FETCH_MS = 10_000;

/** The outcome of one worker's check. */
export interface WorkerAttestation {
  ok: boolean;
  /** What failed, or what was verified. */
  detail: string;
}

/** What this node accepts of a peer's workers. */
export interface PeerAcceptance {
  measurements: readonly string[];
  /** Accept simulated evidence (only a node that itself runs simulated workers does). */
  allowSimulated: boolean;
}

/** Fetch fresh evidence for `worker` of the node at `url` and verify it; never throws. */
export async function attestNodeWorker(
  url: string,
  worker: NodeWorker,
  accept: PeerAcceptance,
): Promise<WorkerAttestation> {
  const nonce = freshNonce();
  let body: unknown;
  try {
    const res = await fetch(`${url}/v1/workers/${encodeURIComponent(worker.id)}/attestation?nonce=${nonce}`, {
      signal: AbortSignal.timeout(ATTESTATION_FETCH_MS),
    });
    if (!res.ok) return { ok: false, detail: `the node answered ${res.status}` };
    body = await res.json();
  } catch (e) {
    return { ok: false, detail: `the node cannot be reached: ${errorMessage(e)}` };
  }
  const evidence = EvidenceSchema.safeParse((body as { evidence?: unknown } | null)?.evidence);
  if (!evidence.success) return { ok: false, detail: 'the node sent no evidence' };
  const verdict = await verifyEvidence(evidence.data, {
    nonce,
    keys: { recipient: worker.recipient, signingKey: worker.signingKey },
    measurements: accept.measurements,
    allowSimulated: accept.allowSimulated,
  });
  if (!verdict.ok) {
    const failed = verdict.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    return { ok: false, detail: failed.join('; ') };
  }
  if (verdict.measurement !== worker.measurement)
    return {
      ok: false,
      detail: `the worker attests measurement ${verdict.measurement}, its record says ${worker.measurement}`,
    };
  return {
    ok: true,
    detail: `${verdict.simulated ? 'simulated ' : ''}evidence for a fresh nonce verifies (measurement ${verdict.measurement})`,
  };
}

/** Every worker of `record` checked at once. */
export async function attestNode(
  record: NodeRecord,
  accept: PeerAcceptance,
): Promise<Map<string, WorkerAttestation>> {
  const out = await Promise.all(
    record.workers.map(async (w) => [w.id, await attestNodeWorker(record.url, w, accept)] as const),
  );
  return new Map(out);
}

/** What this node accepts of peers: its own workers' code; simulated evidence only if it is simulated itself. */
export function peerAcceptance(ctx: {
  workers: { list(): { measurement: string; simulated: boolean }[] };
}): PeerAcceptance {
  const own = ctx.workers.list();
  return {
    measurements: [...new Set(own.map((w) => w.measurement))],
    allowSimulated: own.some((w) => w.simulated),
  };
}
