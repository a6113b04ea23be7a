/**
 * The age header's key schedule: a fresh file key wrapped to every recipient, and the
 * header MAC that binds the stanzas to it.
 *
 * Follows the age v1 spec (https://age-encryption.org/v1, "File key" and "Header MAC"):
 * the file key is 16 random bytes; the MAC is HMAC-SHA256 under
 * HKDF-SHA256(ikm = file key, salt = empty, info = "header") over the header bytes up to
 * and including "---".
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ageError } from './errors.ts';
import { encodeHeader, encodeHeaderNoMac, type ParsedHeader, type Stanza } from './format.ts';
import { unwrapFileKey, wrapFileKey, type X25519Identity } from './x25519.ts';

/** Length of an age file key. */
export const FILE_KEY_BYTES = 16;

/** A new random file key; the caller wipes it when done. */
export function newFileKey(): Buffer {
  return randomBytes(FILE_KEY_BYTES);
}

/** HMAC-SHA256 of `macInput` under the header key derived from `fileKey`. */
export function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  const key = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  const mac = createHmac('sha256', key).update(macInput).digest();
  key.fill(0);
  return mac;
}

/** The full header (stanzas for every raw recipient, then the MAC); throws invalid_recipient. */
export function buildHeader(fileKey: Uint8Array, recipients: readonly Uint8Array[]): Buffer {
  if (recipients.length === 0) throw ageError('invalid_recipient', 'at least one recipient is required');
  const stanzas: Stanza[] = recipients.map((r) => wrapFileKey(fileKey, r));
  return encodeHeader(stanzas, headerMac(fileKey, encodeHeaderNoMac(stanzas)));
}

/**
 * Unwrap the file key of a parsed header with `identities` and check the header MAC.
 * Throws age_header_invalid (malformed X25519 stanza, or no stanza at all),
 * age_no_matching_identity, or age_header_mac. The caller wipes the returned key.
 */
export function openHeader(header: ParsedHeader, identities: readonly X25519Identity[]): Buffer {
  if (header.stanzas.length === 0) throw ageError('age_header_invalid', 'no recipient stanzas');
  const fileKey = unwrapFileKey(header.stanzas, identities);
  if (!fileKey) throw ageError('age_no_matching_identity');
  const mac = headerMac(fileKey, header.macInput);
  if (!timingSafeEqual(mac, header.mac)) {
    fileKey.fill(0);
    throw ageError('age_header_mac');
  }
  return fileKey;
}
