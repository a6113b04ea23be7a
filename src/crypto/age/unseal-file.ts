/**
 * Open an age file on disk (https://age-encryption.org/v1) with X25519 identities, handing
 * its plaintext to the caller a block at a time, with the SHA-256 commitments a dataset
 * manifest records: the counterpart of sealFile, on the same pipeline (block-crypt.ts).
 *
 * Two worker threads read the sealed file into a ring of 1 MiB slots in shared memory, open
 * its blocks and keep both hashes (block-crypt.ts, block-worker.ts); the caller sees each
 * plaintext block in order on this thread. The header
 * is authenticated before any plaintext is released; after that each block is released
 * once all its chunks authenticate, so a caller must treat a failure as the failure of the
 * whole file (as with decryptStream), and must compare the returned hashes with the
 * manifest before trusting anything computed from the blocks.
 *
 * A chunk that does not authenticate is classified on this thread by the same code as the
 * streaming decryption (StreamOpener), so both report truncation, appended bytes and
 * corruption alike.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { giveSlots, type OpenFailure, type Slots, sharedKey } from './block-crypt.ts';
import { parseIdentities } from './decrypt.ts';
import { ageError } from './errors.ts';
import { parseHeader, scanHeader } from './format.ts';
import { openHeader } from './header.ts';
import { BLOCK_CHUNKS, blocksFor, type SealStats, wipePlain } from './seal-file.ts';
import { PAYLOAD_NONCE_BYTES, payloadKey, SEALED_CHUNK_BYTES, StreamOpener } from './stream.ts';

const HEAD_READ_BYTES = 64 * 1024;

/** What a caller does with the plaintext as it goes by. */
export interface UnsealFileOptions {
  /**
   * Sees each plaintext block (up to 1 MiB) in file order, on this thread; the next block
   * of the same slot waits until the returned promise settles. The buffer is reused after
   * that: copy what must be kept. The caller may wipe it. May throw to abort.
   */
  onBlock?: (plaintext: Buffer) => void | Promise<void>;
  /** Told the sealed bytes read so far and the file's size, after each block. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Fill `buf` from `position`; fewer bytes than its length means end of file. */
async function readAt(file: FileHandle, buf: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await file.read(buf, filled, buf.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** The header and payload nonce: their bytes, and the payload key (the caller wipes it). */
async function readPrefix(file: FileHandle, identities: string[]): Promise<{ prefix: Buffer; key: Buffer }> {
  const ids = parseIdentities(identities);
  let head = Buffer.alloc(0);
  let headerBytes = -1;
  let eof = false;
  while (headerBytes < 0 || (head.length < headerBytes + PAYLOAD_NONCE_BYTES && !eof)) {
    const more = Buffer.alloc(HEAD_READ_BYTES);
    const n = await readAt(file, more, head.length);
    eof = n < more.length;
    const scanned = head.length;
    head = Buffer.concat([head, more.subarray(0, n)]);
    if (headerBytes < 0) headerBytes = scanHeader(head, eof, scanned);
  }
  const fileKey = openHeader(parseHeader(head.subarray(0, headerBytes)), ids);
  try {
    if (head.length < headerBytes + PAYLOAD_NONCE_BYTES) {
      throw ageError('age_truncated', 'input ends inside the payload nonce');
    }
    const nonce = head.subarray(headerBytes, headerBytes + PAYLOAD_NONCE_BYTES);
    return { prefix: head.subarray(0, headerBytes + PAYLOAD_NONCE_BYTES), key: payloadKey(fileKey, nonce) };
  } finally {
    fileKey.fill(0);
  }
}

/**
 * The error for chunk `c` of a block that did not open: what StreamOpener says about it
 * (age_truncated, age_trailing_data or age_payload_corrupt).
 */
function classify(
  key: Buffer,
  sealed: Buffer,
  bytes: number,
  first: number,
  c: number,
  lastBlock: boolean,
): Error {
  const start = c * SEALED_CHUNK_BYTES;
  const end = Math.min(bytes, start + SEALED_CHUNK_BYTES);
  const more = !(lastBlock && end === bytes);
  const opener = new StreamOpener(Buffer.from(key), first + c);
  try {
    opener.open(sealed.subarray(start, end), more).fill(0);
  } catch (e) {
    return e as Error;
  } finally {
    opener.wipe();
  }
  // The worker and this thread disagree: never release such a block.
  return ageError('age_payload_corrupt');
}

/** The error for a block that did not open. */
function openError(key: Buffer, slots: Slots, f: OpenFailure): Error {
  if (f.kind === 'truncated') return ageError('age_truncated', 'input ends before the final chunk');
  if (f.kind === 'empty-final-chunk') return ageError('age_payload_corrupt', 'final chunk is empty');
  const first = f.index * BLOCK_CHUNKS;
  return classify(key, slots.sealed[f.slot] as Buffer, f.bytes, first, f.chunk, f.last);
}

/**
 * Decrypt the age file at `path` for `identities` (`AGE-SECRET-KEY-1…`), giving each
 * plaintext block to `options.onBlock`; returns the SHA-256 and length of the plaintext and
 * of the whole file. Throws invalid_identity, every age_* error decryptStream raises, and
 * the fs error when the file cannot be read. Plaintext buffers are wiped before returning.
 * The caller may wipe each block once done with it.
 */
export async function unsealFile(
  path: string,
  identities: string[],
  options: UnsealFileOptions = {},
): Promise<SealStats> {
  const input = await open(path, 'r');
  let key: Buffer | null = null;
  let slots: Slots | null = null;
  try {
    const { size } = await input.stat();
    const { prefix, key: payload } = await readPrefix(input, identities);
    const k = sharedKey(payload);
    key = k;
    payload.fill(0);
    const blocks = blocksFor(size - prefix.length);
    const s = blocks.slots;
    slots = s;
    const { onBlock, onProgress } = options;
    const r = await blocks.run({
      mode: 'open',
      slots: s,
      key: k,
      blockChunks: BLOCK_CHUNKS,
      inFd: input.fd,
      inStart: prefix.length,
      prefix,
      ...(onBlock ? { onBlock: (block: Buffer) => onBlock(block) } : {}),
      ...(onProgress ? { onProgress: (at: number) => onProgress(at, Math.max(size, at)) } : {}),
      failure: (f) => openError(k, s, f),
    });
    return {
      plaintextSha256: r.outSha256,
      ciphertextSha256: r.inSha256,
      plaintextBytes: r.outBytes,
      ciphertextBytes: prefix.length + r.inBytes,
    };
  } finally {
    key?.fill(0);
    if (slots) {
      wipePlain(slots);
      giveSlots(slots);
    }
    await input.close().catch(() => undefined);
  }
}

/**
 * unsealFile as an async iterable: each plaintext block as a copy the consumer owns (and
 * should wipe), at most two blocks ahead of it; `onStats` is told the commitments after the
 * last block, before the iteration ends. Stopping early stops the decryption and wipes what
 * was not consumed. For consumers that keep the blocks they are given.
 *
 * `reuse`: a block is the consumer's only until it asks for the next one; then it is wiped
 * here and its memory takes a later block (a few buffers in all, instead of a fresh one per
 * block: a 10M-row upload streamed through csvChunks, which copies each block before it asks
 * for the next, allocated 460 MB of 1 MiB blocks, each first-touch page faults and bytes
 * for the collector to count).
 */
export async function* unsealedBlocks(
  path: string,
  identities: string[],
  onStats: (stats: SealStats) => void,
  options: { reuse?: boolean } = {},
): AsyncGenerator<Buffer> {
  const pending: Buffer[] = [];
  // Wiped buffers for later blocks (reuse), each its own ArrayBuffer from its first byte.
  const free: Buffer[] = [];
  let current: Buffer | undefined;
  let wakeConsumer: () => void = () => undefined;
  let wakeProducer: () => void = () => undefined;
  let finished = false;
  let stopped = false;
  let failure: unknown = null;
  const run = unsealFile(path, identities, {
    onBlock: async (block) => {
      if (stopped) throw new Error('unsealing stopped by its consumer');
      let copy: Buffer;
      const spare = options.reuse ? free.pop() : undefined;
      if (spare && spare.length >= block.length) {
        block.copy(spare);
        copy = spare.subarray(0, block.length);
      } else {
        copy = Buffer.allocUnsafeSlow(block.length);
        block.copy(copy);
      }
      pending.push(copy);
      wakeConsumer();
      if (pending.length >= 2) await new Promise<void>((r) => (wakeProducer = r));
    },
  }).then(
    (stats) => {
      onStats(stats);
      finished = true;
      wakeConsumer();
    },
    (e: unknown) => {
      failure = e;
      finished = true;
      wakeConsumer();
    },
  );
  try {
    for (;;) {
      const block = pending.shift();
      if (block) {
        wakeProducer();
        current = block;
        yield block;
        current = undefined;
        if (options.reuse) {
          block.fill(0);
          free.push(Buffer.from(block.buffer));
        }
      } else if (finished) {
        if (failure) throw failure;
        return;
      } else {
        await new Promise<void>((r) => (wakeConsumer = r));
      }
    }
  } finally {
    stopped = true;
    wakeProducer();
    await run;
    for (const b of pending.splice(0)) b.fill(0);
    if (options.reuse) current?.fill(0);
  }
}
