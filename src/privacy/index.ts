/**
 * Privacy: the owners' dataset policies (policy.ts), signed in the manifest, and their
 * enforcement on a checked pipeline (enforce.ts), on the host and again in the enclave.
 */
export {
  DatasetPolicySchema,
  type DatasetPolicy,
  loadDatasetPolicy,
  parseDatasetPolicy,
  parseDatasetPolicyValue,
} from './policy.ts';
export {
  applyLimits,
  type ColumnUse,
  type ColumnUses,
  columnUses,
  type EffectiveLimits,
  type EnforceContext,
  enforcePolicies,
} from './enforce.ts';
export {
  ApprovalSchema,
  SignedApprovalSchema,
  PolicyUpdateSchema,
  SignedPolicyUpdateSchema,
  type Approval,
  type SignedApproval,
  type PolicyUpdate,
  type SignedPolicyUpdate,
  signApproval,
  signPolicyUpdate,
  parseSignedApproval,
  parseSignedPolicyUpdate,
  assertApproval,
  assertApprovalCovers,
  APPROVAL_DEFAULT_TTL_MS,
  assertPolicyUpdate,
  statementHash,
  withPolicyUpdate,
} from './statements.ts';
export {
  JobRequestSchema,
  SignedJobRequestSchema,
  type JobRequest,
  type JobRequestBinding,
  type SignedJobRequest,
  signJobRequest,
  parseSignedJobRequest,
  assertJobRequestSignature,
  assertJobRequestFresh,
  assertJobMatchesRequest,
  jobRequestSignatureValid,
  jobRequestHash,
  purposeHash,
  requestBindings,
} from './job-request.ts';
export { privacyCost, type PrivacyCost } from './cost.ts';
