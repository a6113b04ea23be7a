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
export { simulatedAuthority, simulatedEvidence, simulatedPlatformSecret, simulatedTeeDir } from './simulated.ts';
export { verifyEvidence, verifySimulatedEvidence, type AttestationExpectations, type AttestationVerdict, type Check } from './verify.ts';
