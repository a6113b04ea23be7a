/**
 * Sealing to age X25519 recipients in the browser, where node:crypto does not exist: the
 * same age v1 file src/crypto/age writes (the age v1 spec), on @noble/ciphers
 * (ChaCha20-Poly1305), @noble/curves (X25519) and @noble/hashes (HKDF, HMAC, SHA-256).
 *
 * Why not src/crypto/age itself: it is built on node:crypto's OpenSSL ChaCha20-Poly1305,
 * about ten times faster than pure JavaScript, and on Node's Buffer throughout; the page
 * gets the spec again in the few lines below, and the tests hold both to the standard: a
 * file sealed here is opened by the real enclave (src/crypto/age/decrypt.ts) and by the
 * `age` tool (test/adversary/dashboard-seal.test.ts).
 *
 * Streaming: `push` takes plaintext in any pieces and returns the sealed 64 KiB chunks it
 * completed; a full chunk is sealed as non-final only once a further byte arrives, so a
 * payload that is a multiple of 64 KiB ends in a full last chunk, as age does. Keys are
 * wiped when the last chunk is sealed.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519';
import { hkdf } from '@noble/hashes/hkdf';
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { base64, bech32 } from '@scure/base';

/** Plaintext bytes in every STREAM chunk but the last. */
export const CHUNK_BYTES = 64 * 1024;
const X25519_INFO = 'age-encryption.org/v1/X25519';

/** A recipient could not be used (not an `age1…` X25519 key, or a low-order point). */
export class AgeRecipientError extends Error {}

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
/** Standard base64 without padding, as age writes it. */
const b64 = (bytes: Uint8Array): string => base64.encode(bytes).replace(/=+$/, '');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The raw 32-byte X25519 key of an `age1…` recipient. */
export function parseAgeRecipient(recipient: string): Uint8Array {
  const text = recipient.trim();
  try {
    if (!text.startsWith('age1')) throw new Error('prefix');
    const { prefix, bytes } = bech32.decodeToBytes(text);
    if (prefix === 'age' && bytes.length === 32) return bytes;
  } catch {
    // reported below
  }
  throw new AgeRecipientError(`not an age X25519 recipient: ${text.slice(0, 12)}…`);
}

/** A stanza line and body wrapping `fileKey` to `recipient` (a fresh ephemeral key each time). */
function x25519Stanza(fileKey: Uint8Array, recipient: Uint8Array): string {
  const ephemeral = random(32);
  const share = x25519.getPublicKey(ephemeral);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(ephemeral, recipient); // throws on an all-zero secret
  } catch {
    throw new AgeRecipientError('the recipient is a low-order point');
  } finally {
    ephemeral.fill(0);
  }
  const key = hkdf(sha256, shared, concat([share, recipient]), X25519_INFO, 32);
  shared.fill(0);
  const body = chacha20poly1305(key, new Uint8Array(12)).encrypt(fileKey);
  key.fill(0);
  // A 32-byte body is 43 base64 characters: one short line.
  return `-> X25519 ${b64(share)}\n${b64(body)}\n`;
}

/** The header (stanzas and MAC) for `fileKey` and the recipients. */
function header(fileKey: Uint8Array, recipients: readonly Uint8Array[]): Uint8Array {
  const noMac = ascii(
    `age-encryption.org/v1\n${recipients.map((r) => x25519Stanza(fileKey, r)).join('')}---`,
  );
  const macKey = hkdf(sha256, fileKey, new Uint8Array(0), 'header', 32);
  const mac = hmac(sha256, macKey, noMac);
  macKey.fill(0);
  return concat([noMac, ascii(` ${b64(mac)}\n`)]);
}

/** Seals one payload as it streams by. */
export class AgeSealer {
  /** The bytes before the payload chunks: the header and the 16-byte payload nonce. */
  readonly prefix: Uint8Array;
  readonly #key: Uint8Array;
  readonly #pending = new Uint8Array(CHUNK_BYTES);
  #pendingBytes = 0;
  #counter = 0;
  #done = false;

  /** Start a file to `recipients` (`age1…`); throws AgeRecipientError before any data flows. */
  constructor(recipients: readonly string[]) {
    if (recipients.length === 0) throw new AgeRecipientError('at least one recipient is required');
    const keys = recipients.map(parseAgeRecipient);
    const fileKey = random(16);
    try {
      const nonce = random(16);
      this.prefix = concat([header(fileKey, keys), nonce]);
      this.#key = hkdf(sha256, fileKey, nonce, 'payload', 32);
    } finally {
      fileKey.fill(0);
    }
  }

  /** Seal the next chunk; its nonce is an 11-byte big-endian counter, then the last-chunk flag. */
  #seal(plaintext: Uint8Array, last: boolean): Uint8Array {
    if (this.#done) throw new Error('the age payload is already finished');
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(7, this.#counter);
    iv[11] = last ? 1 : 0;
    this.#counter++;
    return chacha20poly1305(this.#key, iv).encrypt(plaintext);
  }

  /** Feed plaintext; returns the chunks (ciphertext and tag) it completed, in order. */
  push(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < data.length) {
      if (this.#pendingBytes === CHUNK_BYTES) {
        out.push(this.#seal(this.#pending, false));
        this.#pendingBytes = 0;
      }
      const n = Math.min(CHUNK_BYTES - this.#pendingBytes, data.length - off);
      this.#pending.set(data.subarray(off, off + n), this.#pendingBytes);
      this.#pendingBytes += n;
      off += n;
    }
    return out;
  }

  /** Seal the last chunk (possibly empty) and wipe the key and the pending plaintext. */
  end(): Uint8Array {
    const last = this.#seal(this.#pending.subarray(0, this.#pendingBytes), true);
    this.wipe();
    return last;
  }

  /** Zero the payload key and the pending plaintext (also when sealing is abandoned). */
  wipe(): void {
    this.#done = true;
    this.#key.fill(0);
    this.#pending.fill(0);
    this.#pendingBytes = 0;
  }
}
