/**
 * Attestation evidence as it crosses boundaries (enclave → host → API → verifier), and the
 * binding between an enclave's public keys and its report data.
 */
import { z } from 'zod';
import { hashJson } from '../common/hash.ts';

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes of lower-case hex`);

/** The public keys an enclave binds into its attestation. */
export const EnclaveKeysSchema = z.object({
  /** age X25519 recipient that owners seal datasets to. */
  recipient: z.string().startsWith('age1'),
  /** Ed25519 public key (32 bytes, hex) that signs results. */
  signingKey: hex(32),
});
export type EnclaveKeys = z.infer<typeof EnclaveKeysSchema>;

/** The report a simulated TEE authority signs. */
export const SimulatedReportSchema = z.object({
  format: z.literal('obscura-simulated-report/1'),
  tee: z.literal('simulated'),
  workerId: z.string().min(1),
  measurement: hex(32),
  /** SHA-256 of the JCS form of the enclave's EnclaveKeys. */
  keysDigest: hex(32),
  /** The verifier's fresh nonce, echoed. */
  nonce: hex(32),
  issuedAt: z.iso.datetime(),
});
export type SimulatedReport = z.infer<typeof SimulatedReportSchema>;

/** Evidence from the simulated provider: a report signed by a local simulated authority. */
export const SimulatedEvidenceSchema = z.object({
  tee: z.literal('simulated'),
  report: SimulatedReportSchema,
  /** Ed25519 public key of the simulated authority (hex). */
  authorityKey: hex(32),
  /** Ed25519 signature over the JCS form of `report` (hex). */
  signature: hex(64),
  keys: EnclaveKeysSchema,
});
export type SimulatedEvidence = z.infer<typeof SimulatedEvidenceSchema>;

/** Which provider made a hardware quote inside the worker. */
export const QuoteProviderSchema = z.enum(['tdx-configfs', 'dstack', 'sgx-gramine']);
export type QuoteProvider = z.infer<typeof QuoteProviderSchema>;

/**
 * Evidence from hardware: an Intel DCAP quote (TDX v4 or SGX v3) whose 64-byte report data
 * is `reportData(keys, nonce)`, with the enclave's keys beside it so the binding can be
 * recomputed. The quote is verified with collateral (see dcap/), never trusted as given.
 */
export const QuoteEvidenceSchema = z.object({
  tee: z.enum(['tdx', 'sgx']),
  provider: QuoteProviderSchema,
  /** The raw quote, lower-case hex. */
  quote: z.string().regex(/^([0-9a-f]{2})+$/, 'quote must be hex'),
  /** The verifier's nonce the quote was made for (also inside the report data). */
  nonce: hex(32),
  keys: EnclaveKeysSchema,
  workerId: z.string().min(1),
  /** dstack's event log (JSON text), when the provider gives one, for RTMR3 replay. */
  eventLog: z.string().optional(),
});
export type QuoteEvidence = z.infer<typeof QuoteEvidenceSchema>;

/** Any evidence Obscura understands. */
export const EvidenceSchema = z.union([SimulatedEvidenceSchema, QuoteEvidenceSchema]);
export type Evidence = z.infer<typeof EvidenceSchema>;

/**
 * The 64 bytes of TEE report data an enclave puts in a quote: the digest of its public keys
 * followed by the verifier's nonce, so one quote proves both the key binding and freshness.
 */
export function reportData(keys: EnclaveKeys, nonce: string): string {
  return `${keysDigest(keys)}${nonce}`;
}

/** The digest of an enclave's public keys that its report data must carry. */
export function keysDigest(keys: EnclaveKeys): string {
  return hashJson({ recipient: keys.recipient, signingKey: keys.signingKey });
}
