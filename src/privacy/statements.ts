/**
 * What an owner signs about a dataset after sealing it: an approval of one pipeline for one
 * analyst, purpose, time and number of runs (for a policy with `pipelines: approval`) and a
 * policy update (a newer policy, or a revocation).
 * Both are sr25519-signed by the manifest's owner over a domain-separated JCS form, like the
 * manifest itself, so the untrusted host can store and forward them but never forge or
 * widen them; the enclave verifies each one against the owner in the manifest it opens.
 * A dataset is named by its manifest hash (the enclave's name for it; the API's dataset id
 * is the first 32 hex characters of it).
 */
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { hashJson } from '../common/hash.ts';
import { parseOrThrow } from '../common/validate.ts';
import type { AccountKey } from '../crypto/keys.ts';
import type { Manifest } from '../crypto/manifest.ts';
import {
  AccountAddressSchema as address,
  AccountSignatureSchema as signature,
  signStatement,
  verifyStatement,
} from '../crypto/statement.ts';
import { DatasetPolicySchema } from './policy.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters');

/**
 * An owner's approval of one pipeline (by hash) on one dataset, for one analyst and one
 * purpose (the SHA-256 of its text), until an expiry, for a number of runs that the
 * enclave counts in its ledger.
 */
export const ApprovalSchema = z
  .strictObject({
    obscura: z.literal('approval/2'),
    /** Manifest hash of the dataset. */
    dataset: sha256,
    pipeline: sha256,
    /** The analyst who may run it (the signer of the job request). */
    analyst: address,
    /** SHA-256 of the purpose text of the job request the owner read. */
    purpose: sha256,
    expiresAt: z.iso.datetime(),
    /** How many jobs may run under this approval. */
    runs: z.number().int().min(1).max(1_000_000),
    /** The owner who approves (must be the manifest's owner). */
    approver: address,
    createdAt: z.iso.datetime(),
  })
  .refine((a) => Date.parse(a.expiresAt) > Date.parse(a.createdAt), {
    message: 'expiresAt must be after createdAt',
    path: ['expiresAt'],
  });
/** An approval. */
export type Approval = z.infer<typeof ApprovalSchema>;
/** An approval with the owner's signature. */
export const SignedApprovalSchema = z.strictObject({ approval: ApprovalSchema, signature });
/** A signed approval. */
export type SignedApproval = z.infer<typeof SignedApprovalSchema>;

/** A newer version of a dataset's policy, or its revocation. Version 1 is the manifest's own policy. */
export const PolicyUpdateSchema = z.strictObject({
  obscura: z.literal('policy-update/1'),
  /** Manifest hash of the dataset. */
  dataset: sha256,
  version: z.number().int().min(2).max(1_000_000),
  /** The policy from now on (absent: no policy beyond the manifest's analysts). Ignored when revoked. */
  policy: DatasetPolicySchema.optional(),
  /** True: no job may use the dataset again, whatever later updates say. */
  revoked: z.boolean(),
  owner: address,
  createdAt: z.iso.datetime(),
});
/** A policy update. */
export type PolicyUpdate = z.infer<typeof PolicyUpdateSchema>;
/** A policy update with the owner's signature. */
export const SignedPolicyUpdateSchema = z.strictObject({ update: PolicyUpdateSchema, signature });
/** A signed policy update. */
export type SignedPolicyUpdate = z.infer<typeof SignedPolicyUpdateSchema>;

/** The domain lines of the owners' statements' signatures (crypto/statement.ts). */
const APPROVAL = 'obscura-approval/2';
const POLICY_UPDATE = 'obscura-policy-update/1';

/** Default lifetime of an approval. */
export const APPROVAL_DEFAULT_TTL_MS = 30 * 24 * 3600_000;

/**
 * Sign an approval of `pipeline` on the dataset whose manifest hash is `dataset`, for
 * `analyst` and the purpose whose SHA-256 is `purpose`, valid until `expiresAt` (default 30
 * days) for `runs` jobs (default 1).
 */
export function signApproval(
  args: {
    dataset: string;
    pipeline: string;
    analyst: string;
    purpose: string;
    expiresAt?: Date;
    runs?: number;
  },
  owner: AccountKey,
  now = new Date(),
): SignedApproval {
  const approval = ApprovalSchema.parse({
    obscura: 'approval/2',
    dataset: args.dataset,
    pipeline: args.pipeline,
    analyst: args.analyst,
    purpose: args.purpose,
    expiresAt: (args.expiresAt ?? new Date(now.getTime() + APPROVAL_DEFAULT_TTL_MS)).toISOString(),
    runs: args.runs ?? 1,
    approver: owner.address,
    createdAt: now.toISOString(),
  });
  return { approval, signature: signStatement(APPROVAL, approval, owner) };
}

/** Sign a policy update of the dataset whose manifest hash is `dataset`. */
export function signPolicyUpdate(
  args: { dataset: string; version: number; policy?: PolicyUpdate['policy']; revoked: boolean },
  owner: AccountKey,
  now = new Date(),
): SignedPolicyUpdate {
  const update: PolicyUpdate = PolicyUpdateSchema.parse({
    obscura: 'policy-update/1',
    dataset: args.dataset,
    version: args.version,
    ...(args.policy && !args.revoked ? { policy: args.policy } : {}),
    revoked: args.revoked,
    owner: owner.address,
    createdAt: now.toISOString(),
  });
  return { update, signature: signStatement(POLICY_UPDATE, update, owner) };
}

/** Parse untrusted JSON as a signed approval; throws 'approval_invalid' naming the field. */
export function parseSignedApproval(value: unknown): SignedApproval {
  return parseOrThrow(SignedApprovalSchema, value, { code: 'approval_invalid', what: 'approval' });
}

/** Parse untrusted JSON as a signed policy update; throws 'policy_update_invalid' naming the field. */
export function parseSignedPolicyUpdate(value: unknown): SignedPolicyUpdate {
  return parseOrThrow(SignedPolicyUpdateSchema, value, {
    code: 'policy_update_invalid',
    what: 'policy update',
  });
}

/**
 * Throw unless `signed` is an approval by the owner of the dataset whose manifest is
 * `manifest` (hash `manifestHash`): 'approval_wrong_dataset' (422), 'approval_not_owner'
 * (403) or 'approval_signature_invalid' (422).
 */
export function assertApproval(signed: SignedApproval, manifest: Manifest, manifestHash: string): void {
  const a = signed.approval;
  if (a.dataset !== manifestHash)
    throw new ObscuraError(
      'approval_wrong_dataset',
      `the approval is for dataset ${a.dataset.slice(0, 32)}, not ${manifestHash.slice(0, 32)}`,
      422,
    );
  if (a.approver !== manifest.owner)
    throw new ObscuraError(
      'approval_not_owner',
      `only the owner ${manifest.owner} may approve pipelines on dataset ${manifest.name}`,
      403,
    );
  if (!verifyStatement(APPROVAL, a, a.approver, signed.signature)) {
    throw new ObscuraError(
      'approval_signature_invalid',
      'the approval signature does not verify for its approver',
      422,
    );
  }
}

/**
 * Throw unless the approval covers a job by `analyst` for the purpose whose SHA-256 is
 * `purpose` at time `now`: 'approval_analyst_mismatch', 'approval_purpose_mismatch' or
 * 'approval_expired' (all 403). Its runs are counted by the enclave's ledger.
 */
export function assertApprovalCovers(
  a: Approval,
  job: { analyst: string; purpose: string; now: number; label: string },
): void {
  if (a.analyst !== job.analyst) {
    throw new ObscuraError(
      'approval_analyst_mismatch',
      `the owner of ${job.label} approved this pipeline for analyst ${a.analyst}, not ${job.analyst}`,
      403,
      { rule: 'analyst' },
    );
  }
  if (a.purpose !== job.purpose) {
    throw new ObscuraError(
      'approval_purpose_mismatch',
      `the owner of ${job.label} approved this pipeline for another purpose than the job request states`,
      403,
      { rule: 'purpose' },
    );
  }
  if (Date.parse(a.expiresAt) <= job.now) {
    throw new ObscuraError(
      'approval_expired',
      `the approval by the owner of ${job.label} expired at ${a.expiresAt}`,
      403,
      { rule: 'expiry' },
    );
  }
}

/**
 * Throw unless `signed` is a policy update by the owner of the dataset whose manifest is
 * `manifest`: 'policy_update_wrong_dataset' (422), 'policy_update_not_owner' (403) or
 * 'policy_update_signature_invalid' (422).
 */
export function assertPolicyUpdate(
  signed: SignedPolicyUpdate,
  manifest: Manifest,
  manifestHash: string,
): void {
  const u = signed.update;
  if (u.dataset !== manifestHash) {
    throw new ObscuraError(
      'policy_update_wrong_dataset',
      `the policy update is for dataset ${u.dataset.slice(0, 32)}, not ${manifestHash.slice(0, 32)}`,
      422,
    );
  }
  if (u.owner !== manifest.owner)
    throw new ObscuraError(
      'policy_update_not_owner',
      `only the owner ${manifest.owner} may update the policy of dataset ${manifest.name}`,
      403,
    );
  if (!verifyStatement(POLICY_UPDATE, u, u.owner, signed.signature)) {
    throw new ObscuraError(
      'policy_update_signature_invalid',
      'the policy update signature does not verify for its owner',
      422,
    );
  }
}

/** The identity of a signed statement: SHA-256 of its JCS form. */
export function statementHash(signed: SignedApproval | SignedPolicyUpdate): string {
  return hashJson(signed);
}

/**
 * The manifest as the latest policy update leaves it: the update's policy replaces the
 * manifest's. A revoked dataset keeps no policy here; callers refuse it by `revoked`.
 */
export function withPolicyUpdate(manifest: Manifest, update: PolicyUpdate | undefined): Manifest {
  if (!update) return manifest;
  const { policy: _old, ...rest } = manifest;
  return update.policy ? { ...rest, policy: update.policy } : rest;
}
