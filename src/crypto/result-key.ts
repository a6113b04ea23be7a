/**
 * The age identity an analyst's results are encrypted to, derived from the analyst's
 * account secret: HKDF-SHA256(ikm = the sr25519 key pair's PKCS#8 encoding, which holds its
 * secret key; salt = "obscura-result-key/1"; info = "age X25519 identity") gives the 32-byte
 * X25519 scalar. So the analyst keeps one key file, the CLI derives the same recipient for
 * every job request, and `obscura result` can derive the identity that opens results, while
 * nobody without the account secret can.
 */
import { hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { identityFromScalar } from './age/x25519.ts';

const SALT = 'obscura-result-key/1';
const INFO = 'age X25519 identity';

/** The age identity and recipient derived from an account's secret key material. */
export function resultIdentityFromSecret(secret: Uint8Array): { identity: string; recipient: string } {
  const scalar = Buffer.from(hkdfSync('sha256', secret, SALT, INFO, 32));
  try {
    return identityFromScalar(scalar);
  } finally {
    scalar.fill(0);
  }
}

/** An age X25519 recipient (`age1…`) that results are encrypted to: an analyst's or an owner's. */
export const ResultRecipientSchema = z
  .string()
  .regex(/^age1[02-9ac-hj-np-z]{58}$/, 'expected an age1… X25519 recipient');
