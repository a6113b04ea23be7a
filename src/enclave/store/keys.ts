/**
 * The key of a dataset's store: derived (HKDF-SHA256) from the enclave's age identity — the
 * secret its sealed state keeps across restarts and hands over to an authorised new version
 * — and the dataset's manifest hash. The host never has it; another enclave identity derives
 * another key; each dataset has its own.
 */
import { hkdfSync } from 'node:crypto';
import { STORE_FORMAT } from './format.ts';

/** The 32-byte AES-256-GCM key of the store of the dataset whose manifest hashes to `manifestHash`. */
export function storeKey(ageIdentity: string, manifestHash: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(ageIdentity), Buffer.from(STORE_FORMAT), Buffer.from(manifestHash), 32),
  );
}
