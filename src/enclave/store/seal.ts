/** Sealing and opening the store's pieces: AES-256-GCM, a random 12-byte nonce, the tag last. */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const NONCE = 12;
const TAG = 16;

/** nonce ‖ ciphertext ‖ tag of `plain` under `key`, bound to `aad`. */
export function sealPiece(key: Buffer, aad: Buffer, plain: Uint8Array): Buffer {
  return Buffer.concat(sealPieceParts(key, aad, plain));
}

/** sealPiece's three parts, for a vectored write that spares copying the ciphertext once more. */
export function sealPieceParts(key: Buffer, aad: Buffer, plain: Uint8Array): [Buffer, Buffer, Buffer] {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plain);
  cipher.final();
  return [nonce, body, cipher.getAuthTag()];
}

/** The plaintext of a sealed piece, or undefined when it does not open (wrong key, place or bytes). */
export function openPiece(key: Buffer, aad: Buffer, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < NONCE + TAG) return undefined;
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE));
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
    // GCM's final() yields no bytes, only the tag check: no concatenation (a second copy).
    const plain = decipher.update(bytes.subarray(NONCE, bytes.length - TAG));
    decipher.final();
    return plain;
  } catch {
    return undefined;
  }
}
