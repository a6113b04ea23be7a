/**
 * Where a worker's sealing root comes from: the secret its sealed state's key is derived
 * from (src/enclave/state.ts). It must come from the TEE itself, never from a file the host
 * can read, except on the simulated TEE, which says so wherever a worker is shown:
 *   - `simulated-file`: `<data dir>/simulated-tee/platform.key`. Anyone who can read the data
 *     directory can unseal the worker's keys; for development only.
 *   - `sgx-mrenclave`: Gramine's `/dev/attestation/keys/_sgx_mrenclave`, the 16-byte SGX
 *     sealing key (EGETKEY, MRENCLAVE policy) that only this enclave on this CPU obtains.
 *   - `dstack-kms`: the dstack guest agent's `GetKey`, a key the dstack KMS derives for this
 *     app and releases only to a CVM whose attestation it verified.
 * Plain TDX has no sealing key of its own: it takes the dstack KMS key through a guest agent
 * it is given, or refuses to start, saying why.
 */
import { z } from 'zod';

/** The kinds of sealing root. */
export const SealingRootSourceSchema = z.enum(['simulated-file', 'sgx-mrenclave', 'dstack-kms']);
export type SealingRootSource = z.infer<typeof SealingRootSourceSchema>;

/** A sealing root: the secret (enclave memory only) and where it came from. */
export interface SealingRoot {
  source: SealingRootSource;
  secret: Buffer;
}

/** The dstack key path a worker asks the KMS for; a new path would be a new root. */
export const DSTACK_SEALING_KEY_PATH = 'obscura/enclave-state/v1';

/** One line on where a sealing root comes from, for logs and banners; loud for the simulated one. */
export function describeSealingRoot(source: SealingRootSource): string {
  switch (source) {
    case 'simulated-file':
      return "SIMULATED sealing root: a key file in <data dir>/simulated-tee/, so anyone who can read the data directory can unseal this worker's keys (development only)";
    case 'sgx-mrenclave':
      return 'SGX sealing key bound to MRENCLAVE (Gramine /dev/attestation/keys/_sgx_mrenclave)';
    case 'dstack-kms':
      return 'dstack KMS key released only to this attested app (guest agent GetKey)';
  }
}
