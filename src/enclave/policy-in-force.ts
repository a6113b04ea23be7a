/**
 * The checks every use of an owner's policy update makes, in one place: jobs (jobs.ts),
 * budget queries and policy updates (handlers/). The host hands the enclave a dataset's
 * manifest and its newest policy update; the enclave verifies the owner's signatures and
 * compares the update with the version its own ledger has in force, because a host that
 * handed back a superseded, wider policy (or a revoked dataset's) would widen what owners
 * allowed.
 */
import { type HttpStatus, ObscuraError } from '../common/errors.ts';
import {
  assertManifestSignature,
  type Manifest,
  manifestHash,
  type SignedManifest,
} from '../crypto/manifest.ts';
import { assertPolicyUpdate, type SignedPolicyUpdate } from '../privacy/statements.ts';
import type { LedgerService } from './ledger-service.ts';

/** A dataset's policy version and revocation as this enclave's ledger has them. */
export interface KnownPolicy {
  version: number;
  revoked: boolean;
}

/**
 * The policy this enclave has in force for the dataset of `manifest` (its hash `hash`),
 * after checking that `update`, if given, is signed by the manifest's owner for it.
 */
export function knownPolicy(
  manifest: Manifest,
  hash: string,
  update: SignedPolicyUpdate | undefined,
  ledger: Pick<LedgerService, 'policyVersion'>,
): KnownPolicy {
  if (update) assertPolicyUpdate(update, manifest, hash);
  return ledger.policyVersion(hash);
}

/** knownPolicy for a signed manifest the caller has not checked yet: its owner's signature first. */
export function policyInForce(
  signed: SignedManifest,
  update: SignedPolicyUpdate | undefined,
  ledger: Pick<LedgerService, 'policyVersion'>,
): { hash: string; known: KnownPolicy } {
  assertManifestSignature(signed);
  const hash = manifestHash(signed.manifest);
  return { hash, known: knownPolicy(signed.manifest, hash, update, ledger) };
}

/** Refuses a policy update older than the one in force ('policy_update_stale', 409) when `stale`. */
export function assertNotStale(stale: boolean, message: string, details?: Record<string, unknown>): void {
  if (stale) throw new ObscuraError('policy_update_stale', message, 409, details);
}

/** Refuses a revoked dataset ('dataset_revoked') when `revoked`. */
export function assertNotRevoked(
  revoked: boolean,
  message: string,
  status: HttpStatus,
  details?: Record<string, unknown>,
): void {
  if (revoked) throw new ObscuraError('dataset_revoked', message, status, details);
}
