/**
 * The block requests of block-crypt.ts answered on the calling thread, for small files where
 * starting two threads (~50 ms) costs more than it saves. Same chunk layout, nonces and
 * replies as the worker code, so sealFile and unsealFile run one orchestration for all sizes.
 */
import { createCipheriv, createDecipheriv, createHash, type Hash } from 'node:crypto';
import type { BlockPool, BlockReply, BlockRequest, BlockWorker, Slots } from './block-crypt.ts';
import { CHUNK_BYTES, SEALED_CHUNK_BYTES, TAG_BYTES } from './stream.ts';

/** The 12-byte chunk nonce of chunk `index` (big-endian in bytes 0–10) and the last-chunk flag. */
function chunkNonce(nonce: Buffer, index: number, last: boolean): Buffer {
  for (let i = 10, x = index; i >= 0; i--, x = Math.floor(x / 256)) nonce[i] = x % 256;
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function inlineWorker(slots: Slots, key: Buffer): BlockWorker {
  const nonce = Buffer.alloc(12);
  const hashes: Record<'plain' | 'sealed', Hash> = {
    plain: createHash('sha256'),
    sealed: createHash('sha256'),
  };
  const seal = (slot: number, bytes: number, first: number, last: boolean): BlockReply => {
    const p = slots.plain[slot] as Buffer;
    const out = slots.sealed[slot] as Buffer;
    const chunks = Math.max(1, Math.ceil(bytes / CHUNK_BYTES));
    let at = 0;
    for (let c = 0; c < chunks; c++) {
      const iv = chunkNonce(nonce, first + c, last && c === chunks - 1);
      const cipher = createCipheriv('chacha20-poly1305', key, iv, { authTagLength: TAG_BYTES });
      at += cipher.update(p.subarray(c * CHUNK_BYTES, Math.min(bytes, (c + 1) * CHUNK_BYTES))).copy(out, at);
      cipher.final();
      at += cipher.getAuthTag().copy(out, at);
    }
    return { bytes: at };
  };
  const open = (slot: number, bytes: number, first: number, last: boolean): BlockReply => {
    const s = slots.sealed[slot] as Buffer;
    const out = slots.plain[slot] as Buffer;
    const chunks = Math.max(1, Math.ceil(bytes / SEALED_CHUNK_BYTES));
    let at = 0;
    for (let c = 0; c < chunks; c++) {
      const start = c * SEALED_CHUNK_BYTES;
      const end = Math.min(bytes, start + SEALED_CHUNK_BYTES);
      if (end - start < TAG_BYTES) return { failedChunk: c };
      const iv = chunkNonce(nonce, first + c, last && c === chunks - 1);
      const decipher = createDecipheriv('chacha20-poly1305', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(s.subarray(end - TAG_BYTES, end));
      const pt = decipher.update(s.subarray(start, end - TAG_BYTES));
      try {
        decipher.final();
      } catch {
        pt.fill(0);
        out.fill(0, 0, at);
        return { failedChunk: c };
      }
      at += pt.copy(out, at);
      pt.fill(0);
    }
    return { bytes: at };
  };
  const handle = (m: BlockRequest): BlockReply => {
    switch (m.op) {
      case 'seal':
        return seal(m.slot, m.bytes, m.first, m.last);
      case 'open':
        return open(m.slot, m.bytes, m.first, m.last);
      case 'hash':
        hashes[m.side].update(
          (m.side === 'plain' ? slots.plain : slots.sealed)[m.slot]?.subarray(0, m.bytes) as Buffer,
        );
        return {};
      case 'hashBytes':
        hashes[m.side].update(m.data);
        return {};
      case 'digest':
        return { plain: hashes.plain.digest('hex'), sealed: hashes.sealed.digest('hex') };
    }
  };
  return { request: async (m) => handle(m) };
}

/** A BlockPool whose two workers run on this thread. */
export function inlineBlockPool(slots: Slots, key: Buffer): BlockPool {
  return { workers: [inlineWorker(slots, key), inlineWorker(slots, key)], close: async () => undefined };
}
