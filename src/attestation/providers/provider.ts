/**
 * The evidence provider: what an enclave worker asks of its TEE. One implementation per TEE
 * interface (the simulated authority, Linux configfs-tsm for Intel TDX, the Phala dstack
 * guest agent, Gramine's /dev/attestation for Intel SGX), picked by configuration
 * (config.ts, factory.ts). Every provider binds `reportData(keys, nonce)` — the digest of
 * the enclave's public keys followed by the nonce — into what it returns.
 */
import { z } from 'zod';
import type { EnclaveKeys, Evidence } from '../evidence.ts';
import type { HardwareIdentity } from './identity.ts';
import type { SealingRoot } from './sealing-root.ts';

/** How a worker obtains its evidence. */
export const ProviderKindSchema = z.enum(['simulated', 'tdx-configfs', 'dstack', 'sgx-gramine']);
export type ProviderKind = z.infer<typeof ProviderKindSchema>;

/** The kind of TEE a worker runs in. */
export const TeeKindSchema = z.enum(['simulated', 'tdx', 'sgx']);
export type TeeKind = z.infer<typeof TeeKindSchema>;

/** What a piece of evidence is made for. */
export interface EvidenceRequest {
  workerId: string;
  /** The enclave's measurement: simulated evidence states it; a quote carries the hardware's own registers instead. */
  measurement: string;
  keys: EnclaveKeys;
  /** 32 bytes of hex: the verifier's nonce, or the hash of a result body. */
  nonce: string;
}

/** A source of attestation evidence inside the enclave. */
export interface EvidenceProvider {
  readonly kind: ProviderKind;
  readonly tee: TeeKind;
  /** Evidence whose report data is `reportData(keys, nonce)`. Throws ObscuraError with a `tee_*` code. */
  evidence(req: EvidenceRequest): Promise<Evidence>;
  /** The hardware registers of this enclave, read from a quote it makes of itself; undefined when simulated. Throws like evidence(). */
  identify(): Promise<HardwareIdentity | undefined>;
  /** The secret the worker's sealed state is keyed from (sealing-root.ts). Throws ObscuraError with a `tee_*` code. */
  sealingRoot(): Promise<SealingRoot>;
}
