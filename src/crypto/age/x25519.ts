/**
 * X25519 recipients and identities for age, on node:crypto.
 *
 * Follows the age v1 spec (https://age-encryption.org/v1, "The X25519 recipient type"):
 * a stanza is `-> X25519 <base64 ephemeral share>` with a 32-byte body, the file key sealed
 * with ChaCha20-Poly1305 under a zero nonce and the key
 * HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt = share || recipient,
 * info = "age-encryption.org/v1/X25519"). Recipients are Bech32 `age1…` strings, identities
 * Bech32 `AGE-SECRET-KEY-1…` strings (BIP 173, upper case). An all-zero shared secret (a
 * low-order share or recipient) is refused, as the spec requires.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { bech32 } from '@scure/base';
import { ageError } from './errors.ts';
import { decodeBase64, encodeBase64, type Stanza } from './format.ts';

/** Stanza type of this recipient kind. */
export const X25519_TYPE = 'X25519';
const X25519_INFO = 'age-encryption.org/v1/X25519';
const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'AGE-SECRET-KEY-';
const KEY_BYTES = 32;
const FILE_KEY_BYTES = 16;
const TAG_BYTES = 16;
/** DER wrappers that turn raw 32-byte X25519 keys into SPKI / PKCS#8 for node:crypto. */
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const ZERO_NONCE = Buffer.alloc(12);

/** A parsed identity: its private key and the raw 32-byte recipient it answers to. */
export interface X25519Identity {
  privateKey: KeyObject;
  recipient: Buffer;
}

/** Decode Bech32 `text` with prefix `hrp` (exact case) to 32 bytes, or null if it is not one. */
function decodeKey(text: string, hrp: string): Buffer | null {
  if (!text.startsWith(`${hrp}1`)) return null;
  try {
    const { prefix, bytes } = bech32.decodeToBytes(text, false);
    if (prefix !== hrp.toLowerCase() || bytes.length !== KEY_BYTES) return null;
    return Buffer.from(bytes);
  } catch {
    return null;
  }
}

/** Raw 32-byte public key of an `age1…` recipient (surrounding whitespace ignored); throws invalid_recipient. */
export function parseRecipient(recipient: string): Uint8Array {
  const key = typeof recipient === 'string' ? decodeKey(recipient.trim(), RECIPIENT_HRP) : null;
  if (!key) throw ageError('invalid_recipient');
  return key;
}

/** The `age1…` encoding of a raw 32-byte X25519 public key. */
export function encodeRecipient(publicKey: Uint8Array): string {
  return bech32.encode(RECIPIENT_HRP, bech32.toWords(publicKey), false);
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** Parse an `AGE-SECRET-KEY-1…` identity (whitespace ignored); throws invalid_identity. */
export function parseIdentity(identity: string): X25519Identity {
  const scalar = typeof identity === 'string' ? decodeKey(identity.trim(), IDENTITY_HRP) : null;
  if (!scalar) throw ageError('invalid_identity');
  const der = Buffer.concat([PKCS8_PREFIX, scalar]);
  scalar.fill(0);
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return { privateKey, recipient: rawPublicKey(createPublicKey(privateKey)) };
  } catch {
    throw ageError('invalid_identity');
  } finally {
    der.fill(0);
  }
}

/** A fresh X25519 identity and its recipient. Never throws. */
export function generateIdentity(): { identity: string; recipient: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const scalar = der.subarray(PKCS8_PREFIX.length);
  const identity = bech32.encode(IDENTITY_HRP, bech32.toWords(scalar), false).toUpperCase();
  der.fill(0);
  return { identity, recipient: encodeRecipient(rawPublicKey(publicKey)) };
}

/** The identity whose X25519 scalar is these 32 bytes (clamped by X25519 itself), and its recipient. */
export function identityFromScalar(scalar: Uint8Array): { identity: string; recipient: string } {
  if (scalar.length !== KEY_BYTES) throw ageError('invalid_identity');
  const identity = bech32.encode(IDENTITY_HRP, bech32.toWords(scalar), false).toUpperCase();
  return { identity, recipient: identityToRecipient(identity) };
}

/** The `age1…` recipient of an identity; throws invalid_identity. */
export function identityToRecipient(identity: string): string {
  return encodeRecipient(parseIdentity(identity).recipient);
}

/** X25519 shared secret, or null when it would be all-zero (low-order point). */
function sharedSecret(privateKey: KeyObject, publicKey: KeyObject): Buffer | null {
  let secret: Buffer;
  try {
    secret = diffieHellman({ privateKey, publicKey });
  } catch {
    return null; // OpenSSL refuses to derive an all-zero secret
  }
  if (secret.every((b) => b === 0)) return null;
  return secret;
}

function wrapKey(secret: Buffer, share: Uint8Array, recipient: Uint8Array): Buffer {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.concat([share, recipient]), X25519_INFO, 32));
  secret.fill(0);
  return key;
}

/** Seal `fileKey` to the raw recipient `recipient`; throws invalid_recipient for a low-order key. */
export function wrapFileKey(fileKey: Uint8Array, recipient: Uint8Array): Stanza {
  let theirs: KeyObject;
  try {
    theirs = publicKeyObject(recipient);
  } catch {
    throw ageError('invalid_recipient');
  }
  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  const secret = sharedSecret(ephemeral.privateKey, theirs);
  if (!secret) throw ageError('invalid_recipient');
  const key = wrapKey(secret, share, recipient);
  const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
  key.fill(0);
  return { type: X25519_TYPE, args: [encodeBase64(share)], body };
}

/** Share of a well-formed X25519 stanza; throws age_header_invalid if it is malformed. */
function stanzaShare(stanza: Stanza): Buffer {
  if (stanza.args.length !== 1) throw ageError('age_header_invalid', 'malformed X25519 stanza');
  const share = decodeBase64(stanza.args[0] as string);
  if (share.length !== KEY_BYTES || stanza.body.length !== FILE_KEY_BYTES + TAG_BYTES) {
    throw ageError('age_header_invalid', 'malformed X25519 stanza');
  }
  return share;
}

/**
 * The file key from the first X25519 stanza one of `identities` opens, or null when none
 * does. Other stanza types are ignored. Throws age_header_invalid when any X25519 stanza is
 * malformed or carries a low-order share. The caller owns (and should wipe) the result.
 */
export function unwrapFileKey(
  stanzas: readonly Stanza[],
  identities: readonly X25519Identity[],
): Buffer | null {
  const candidates = stanzas.filter((s) => s.type === X25519_TYPE).map((s) => ({ s, share: stanzaShare(s) }));
  for (const { s, share } of candidates) {
    const theirs = publicKeyObject(share);
    for (const id of identities) {
      const secret = sharedSecret(id.privateKey, theirs);
      if (!secret) throw ageError('age_header_invalid', 'X25519 share is a low-order point');
      const key = wrapKey(secret, share, id.recipient);
      const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(s.body.subarray(FILE_KEY_BYTES));
      const fileKey = decipher.update(s.body.subarray(0, FILE_KEY_BYTES));
      key.fill(0);
      try {
        decipher.final();
        return fileKey;
      } catch {
        fileKey.fill(0); // not for this identity
      }
    }
  }
  return null;
}
