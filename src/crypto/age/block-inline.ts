/**
 * A block job (block-crypt.ts) run on the calling thread, one block after another, for small
 * files where starting two threads (~50 ms) costs more than it saves. Same chunk loops
 * (block-chunks.ts), order, results and failures as the two threads.
 */
import * as crypto from 'node:crypto';
import { readSync, writeSync } from 'node:fs';
import { openChunks, sealChunks } from './block-chunks.ts';
import type { BlockJobResult, BlockJobSpec, OpenFailure } from './block-crypt.ts';
import { SEALED_CHUNK_BYTES, TAG_BYTES } from './stream.ts';

/** Fill `buf` from `position` of `fd`; fewer bytes than its length means end of file. */
function readAt(fd: number, buf: Buffer, position: number): number {
  let filled = 0;
  while (filled < buf.length) {
    const n = readSync(fd, buf, filled, buf.length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/** Run `spec` on this thread, with the slots' first two entries (they alternate for the read-ahead). */
export async function runInline(spec: BlockJobSpec): Promise<BlockJobResult> {
  const seal = spec.mode === 'seal';
  const [inSlots, outSlots] = seal
    ? [spec.slots.plain, spec.slots.sealed]
    : [spec.slots.sealed, spec.slots.plain];
  const failed = (f: OpenFailure): Error => spec.failure?.(f) ?? new Error('block did not open');
  const cipher = { crypto, key: spec.key, nonce: Buffer.alloc(12) };
  const inHash = crypto.createHash('sha256');
  const outHash = crypto.createHash('sha256');
  let outAt = 0;
  const write = (buf: Buffer): void => {
    for (let off = 0; off < buf.length; ) {
      off += writeSync(spec.outFd as number, buf, off, buf.length - off, outAt + off);
    }
    outAt += buf.length;
  };
  if (seal) {
    outHash.update(spec.prefix);
    write(spec.prefix);
  } else {
    inHash.update(spec.prefix);
  }
  let position = spec.inStart;
  let slot = 0;
  let bytes = readAt(spec.inFd, inSlots[0] as Buffer, position);
  if (!seal && bytes < TAG_BYTES) throw failed({ kind: 'truncated' });
  let plain = 0;
  for (let index = 0; ; index++) {
    const input = inSlots[slot] as Buffer;
    const output = outSlots[slot] as Buffer;
    const next = 1 - slot;
    // A full block may be the last one: read ahead to know whether its final chunk ends the payload.
    const nextBytes =
      bytes === input.length ? readAt(spec.inFd, inSlots[next] as Buffer, position + bytes) : 0;
    const last = nextBytes === 0;
    const start = position;
    position += bytes;
    inHash.update(input.subarray(0, bytes));
    if (seal && spec.scan) spec.scan.step(spec.scan.state, input.subarray(0, bytes));
    if (seal && start < (spec.onBlockBytes ?? Number.POSITIVE_INFINITY))
      await spec.onBlock?.(input.subarray(0, bytes), position);
    const first = index * spec.blockChunks;
    const n = seal
      ? sealChunks(cipher, input, bytes, output, first, last)
      : openChunks(cipher, input, bytes, output, first, last);
    if (n < 0) throw failed({ kind: 'chunk', slot, chunk: -1 - n, index, bytes, last });
    const chunks = Math.ceil(bytes / SEALED_CHUNK_BYTES);
    // The last chunk may be empty only when it is the only one (age spec, "Payload").
    if (!seal && last && first + chunks > 1 && bytes - (chunks - 1) * SEALED_CHUNK_BYTES === TAG_BYTES) {
      throw failed({ kind: 'empty-final-chunk' });
    }
    outHash.update(output.subarray(0, n));
    if (seal) write(output.subarray(0, n));
    else {
      plain += n;
      await spec.onBlock?.(output.subarray(0, n), position);
    }
    spec.onProgress?.(position);
    if (last) break;
    slot = next;
    bytes = nextBytes;
  }
  return {
    inSha256: inHash.digest('hex'),
    inBytes: position - spec.inStart,
    outSha256: outHash.digest('hex'),
    outBytes: seal ? outAt : plain,
  };
}
