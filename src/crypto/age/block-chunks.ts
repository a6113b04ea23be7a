/**
 * The age STREAM loops over one block of chunks: seal a block of plaintext, or open a block
 * of sealed chunks, into a caller's buffer. The one copy of these loops: the block workers
 * (block-worker.ts) run them from their source text, the calling thread (block-inline.ts) by
 * import. So they are self-contained: no imports, no free names but JavaScript's own and
 * Buffer; node:crypto comes in as an argument. Chunk layout and nonces follow stream.ts.
 */
import type * as NodeCrypto from 'node:crypto';

/** What the loops need: node:crypto, the payload key and a 12-byte nonce buffer they overwrite. */
export interface ChunkCipher {
  crypto: typeof NodeCrypto;
  key: Buffer;
  nonce: Buffer;
}

/**
 * Seal the first `bytes` of `plain` as chunks `first`…, the final one ending the payload when
 * `last`, into `out` (which must hold the sealed size); returns the sealed byte count.
 */
export function sealChunks(
  c: ChunkCipher,
  plain: Buffer,
  bytes: number,
  out: Buffer,
  first: number,
  last: boolean,
): number {
  // Plaintext bytes of a chunk, and the tag each sealed chunk carries (stream.ts); here, not
  // at the top of the file, since the worker runs this function's text alone.
  const CHUNK = 64 * 1024;
  const TAG = 16;
  const chunks = Math.max(1, Math.ceil(bytes / CHUNK));
  let at = 0;
  for (let i = 0; i < chunks; i++) {
    // The nonce: the chunk index big-endian in bytes 0–10, the last-chunk flag in byte 11.
    for (let b = 10, x = first + i; b >= 0; b--, x = Math.floor(x / 256)) c.nonce[b] = x % 256;
    c.nonce[11] = last && i === chunks - 1 ? 1 : 0;
    const cipher = c.crypto.createCipheriv('chacha20-poly1305', c.key, c.nonce, { authTagLength: TAG });
    at += cipher.update(plain.subarray(i * CHUNK, Math.min(bytes, (i + 1) * CHUNK))).copy(out, at);
    cipher.final();
    at += cipher.getAuthTag().copy(out, at);
  }
  return at;
}

/**
 * Open the first `bytes` of `sealed` (whole sealed chunks, the final one possibly short) as
 * chunks `first`…, the final one ending the payload when `last`, into `out`. Returns the
 * plaintext byte count, or `-1 - c` when chunk `c` does not authenticate; then what was
 * written to `out` is wiped, and the caller classifies the failure.
 */
export function openChunks(
  c: ChunkCipher,
  sealed: Buffer,
  bytes: number,
  out: Buffer,
  first: number,
  last: boolean,
): number {
  const CHUNK = 64 * 1024;
  const TAG = 16;
  const chunks = Math.max(1, Math.ceil(bytes / (CHUNK + TAG)));
  let at = 0;
  for (let i = 0; i < chunks; i++) {
    const start = i * (CHUNK + TAG);
    const end = Math.min(bytes, start + CHUNK + TAG);
    if (end - start < TAG) {
      out.fill(0, 0, at);
      return -1 - i;
    }
    for (let b = 10, x = first + i; b >= 0; b--, x = Math.floor(x / 256)) c.nonce[b] = x % 256;
    c.nonce[11] = last && i === chunks - 1 ? 1 : 0;
    const decipher = c.crypto.createDecipheriv('chacha20-poly1305', c.key, c.nonce, { authTagLength: TAG });
    decipher.setAuthTag(sealed.subarray(end - TAG, end));
    const pt = decipher.update(sealed.subarray(start, end - TAG));
    try {
      decipher.final();
    } catch {
      pt.fill(0);
      out.fill(0, 0, at);
      return -1 - i;
    }
    at += pt.copy(out, at);
    pt.fill(0);
  }
  return at;
}
