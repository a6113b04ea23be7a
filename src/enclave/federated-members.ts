/**
 * What a federated aggregate and federated training share about their member enclaves.
 *
 * A peer counts only when its fresh evidence verifies for this enclave's own code (members
 * run the same code), simulated evidence only on a simulated enclave: one rule, applied by
 * every enclave to the coordinator it sends to and by the coordinator to every member.
 *
 * Each member signs a statement (partial-statement.ts) binding the job, the analyst's
 * request, the pipeline, the coordinating enclave and the inputs of its share, and seals it
 * with its first contribution (an aggregate's partial, training's encoding statistics). The
 * coordinator checks the statement against what it knows itself, so a contribution replayed
 * from another job, swapped between members or meant for another coordinator is refused,
 * and copies each member's part into the signed result (FederationMember), so an auditor
 * checks every enclave's part offline (src/provenance/federation-check.ts).
 */
import { ed25519Sign, ed25519Verify } from '../common/ed25519.ts';
import { ObscuraError } from '../common/errors.ts';
import { sha256Hex } from '../common/hash.ts';
import { partialStatementText } from '../contracts/partial-statement.ts';
import type { FederationMember, ResultBody } from '../contracts/result.ts';
import { type Peer, type SealedMessage, verifyPeer } from '../federation/channel.ts';
import type { JobContext } from './job-check.ts';

/** What a member's statement binds besides the member itself. */
export interface MemberBinding {
  job: string;
  /** jobRequestHash of the analyst's signed request. */
  request: string;
  pipeline: string;
  /** The coordinating enclave's signing key. */
  coordinator: string;
  /** The result inputs of the member's share. */
  inputs: ResultBody['inputs'];
}

/** Throw 'federation_peer_refused' (403) unless every peer attests now for this enclave's own code. */
export async function verifyPeers(
  ctx: Pick<JobContext, 'measurement' | 'tee'>,
  peers: readonly Peer[],
): Promise<void> {
  for (const p of peers) await verifyPeer(p, ctx.measurement, ctx.tee === 'simulated');
}

/** This enclave's signature of its statement as a member: it contributed its share of `binding`. */
export function signMemberStatement(
  ctx: Pick<JobContext, 'signingKey' | 'signingSeed'>,
  binding: MemberBinding,
): string {
  return ed25519Sign(ctx.signingSeed, partialStatementText({ ...binding, member: ctx.signingKey }));
}

/**
 * Throw 'federation_partial_unbound' (422) unless `statement` is the member `peer`'s
 * signature of `binding`; `what` names its contribution in the message.
 */
export function assertMemberStatement(
  peer: Peer,
  binding: MemberBinding,
  statement: unknown,
  what: string,
): asserts statement is string {
  const holds =
    typeof statement === 'string' &&
    /^[0-9a-f]{128}$/.test(statement) &&
    ed25519Verify(
      peer.keys.signingKey,
      partialStatementText({ ...binding, member: peer.keys.signingKey }),
      statement,
    );
  if (!holds)
    throw new ObscuraError(
      'federation_partial_unbound',
      `the ${what} of worker ${peer.workerId} was not made for this job by that worker (replayed, swapped or for another coordinator)`,
      422,
      { worker: peer.workerId },
    );
}

/** A member's part of the signed result: its attestation, its datasets, its statement and the sealed contribution it signed. */
export function memberPart(
  ctx: Pick<JobContext, 'measurement'>,
  peer: Peer,
  inputs: ResultBody['inputs'],
  statement: string,
  sealed: SealedMessage,
): FederationMember {
  return {
    worker: peer.workerId,
    signingKey: peer.keys.signingKey,
    // verifyPeers accepted its evidence for this enclave's own measurement only.
    measurement: ctx.measurement,
    evidence: peer.evidence,
    nonce: peer.nonce,
    datasets: inputs.map((i) => i.dataset),
    statement,
    partial: { sha256: sha256Hex(sealed.ciphertext), signature: sealed.signature },
  };
}
