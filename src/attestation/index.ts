/** The attestation module's public surface: evidence, the simulated TEE, policies and verification. */
export {
  EnclaveKeysSchema,
  EvidenceSchema,
  QuoteEvidenceSchema,
  QuoteProviderSchema,
  SimulatedEvidenceSchema,
  keysDigest,
  reportData,
  type QuoteEvidence,
  type QuoteProvider,
  type EnclaveKeys,
  type Evidence,
  type SimulatedEvidence,
} from './evidence.ts';
export {
  simulatedAuthority,
  simulatedEvidence,
  simulatedPlatformSecret,
  simulatedTeeDir,
} from './simulated.ts';
export {
  AttestationPolicySchema,
  DEFAULT_POLICY,
  MeasurementEntrySchema,
  TCB_STATUSES,
  acceptsTcb,
  acceptsTee,
  loadPolicy,
  matchMeasurement,
  maxCollateralAge,
  parseDuration,
  parsePolicy,
  parsePolicyValue,
  type AttestationPolicy,
  type MeasuredEnclave,
  type MeasurementEntry,
} from './policy.ts';
export {
  verifyEvidence,
  verifySimulatedEvidence,
  type AttestationExpectations,
  type AttestationVerdict,
  type Check,
} from './verify.ts';
// Hardware verification (src/attestation/dcap/, verify-quote.ts) is imported from its own
// modules so that simulated-only users do not load @phala/dcap-qvl.
export type { CollateralSource } from './dcap/source.ts';
export type { QuoteFacts } from './verify-quote.ts';
