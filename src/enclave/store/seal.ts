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
  return sealRanges(key, aad, [plain]) as [Buffer, Buffer, Buffer];
}

/**
 * The sealed piece of the concatenation of `ranges`, as nonce, the ciphertext of each range
 * and the tag (the same bytes sealPiece gives for the joined plaintext), for a vectored
 * write: the plaintext is never joined into one fresh buffer.
 */
export function sealRanges(key: Buffer, aad: Buffer, ranges: readonly Uint8Array[]): Buffer[] {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const out = [nonce];
  for (const r of ranges) out.push(cipher.update(r));
  cipher.final();
  out.push(cipher.getAuthTag());
  return out;
}

/** Bytes of plaintext in a sealed piece of `sealedLength` bytes (0 for one too short to open). */
export function plainBytes(sealedLength: number): number {
  return Math.max(0, sealedLength - NONCE - TAG);
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
