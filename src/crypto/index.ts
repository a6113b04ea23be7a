/**
 * Obscura's cryptography: sealing datasets in the age v1 file format
 * (https://age-encryption.org/v1) to X25519 recipients, and the sr25519 Substrate account
 * keys that identify callers. The host and the CLI enter through this file; enclave code
 * imports the modules it uses, so that owner-side sealing (seal-file.ts) and the host's
 * header check (inspect.ts) are not part of the enclave's measurement.
 */
export { resultIdentityFromSecret } from './result-key.ts';
export { generateIdentity, identityToRecipient, parseRecipient } from './age/x25519.ts';
export { encryptStream, encryptToBuffer } from './age/encrypt.ts';
export { decryptStream, decryptToBuffer } from './age/decrypt.ts';
export { type SealFileOptions, sealFile, type SealStats } from './age/seal-file.ts';
export { type UnsealFileOptions, unsealedBlocks, unsealFile } from './age/unseal-file.ts';
export { inspectHeader, checkHeader, type StanzaInfo } from './age/inspect.ts';
export type { AgeErrorCode } from './age/errors.ts';
export {
  cryptoReady,
  createKeyFile,
  loadAccountKey,
  loadResultIdentity,
  accountKeyFromSuri,
  verifyAccountSignature,
  isValidAddress,
  AccountKeyFileSchema,
  type AccountKey,
  type AccountKeyFile,
} from './keys.ts';
