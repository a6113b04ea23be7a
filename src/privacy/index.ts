/**
 * Privacy: the owners' dataset policies (policy.ts), signed in the manifest, and their
 * enforcement on a checked pipeline (enforce.ts), on the host and again in the enclave.
 */
export { DatasetPolicySchema, type DatasetPolicy, loadDatasetPolicy, parseDatasetPolicy, parseDatasetPolicyValue } from './policy.ts';
export { applyLimits, type ColumnUse, type ColumnUses, columnUses, type EffectiveLimits, type EnforceContext, enforcePolicies } from './enforce.ts';
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
  assertPolicyUpdate,
  statementHash,
  withPolicyUpdate,
} from './statements.ts';
export { privacyCost, type PrivacyCost } from './cost.ts';
