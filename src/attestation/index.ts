export {
  EnclaveKeysSchema,
  EvidenceSchema,
  SimulatedEvidenceSchema,
  keysDigest,
  type EnclaveKeys,
  type Evidence,
  type SimulatedEvidence,
} from './evidence.ts';
export { simulatedAuthority, simulatedEvidence, simulatedPlatformSecret, simulatedTeeDir } from './simulated.ts';
export { verifyEvidence, type AttestationExpectations, type AttestationVerdict, type Check } from './verify.ts';
