/**
 * Seal a file on disk to age recipients (https://age-encryption.org/v1), atomically, with
 * the SHA-256 commitments a dataset manifest records.
 *
 * The age file is written to a temporary file beside the destination and renamed over it
 * only when complete, so nobody ever sees a partial file; on failure the temporary file is
 * removed. (The rename makes the result atomic for readers; it is not fsynced, so after a
 * power loss a re-seal may be needed: the manifest's ciphertext hash catches that.)
 *
 * The work is pipelined over a ring of 1 MiB slots in shared memory: this thread reads the
 * plaintext into a slot and writes the sealed slot out, nothing more; two worker threads
 * (block-crypt.ts) seal alternate blocks, one of them hashing the plaintext and the other
 * the ciphertext, each in file order. That spreads the three sequential costs (the cipher,
 * which STREAM lets us split, and the two hashes, which we cannot) evenly over two cores,
 * and keeps node:crypto's per-chunk output buffers out of this thread's heap, where their
 * garbage collection cost more than the cipher (see block-crypt.ts). Small files run the
 * same pipeline on this thread (block-inline.ts).
 *
 * Measured history (BENCHMARKS.md "Sealing"): encrypting on this thread with one hash
 * worker spent ~5 CPU s on 1 GiB at load 30, against `age -r`'s ~1.1; the two SHA-256
 * commitments alone are ~1.2 CPU s of that, which `age` does not pay.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type BlockPool,
  poolDigests,
  type Slots,
  sharedKey,
  sharedSlots,
  startBlockPool,
} from './block-crypt.ts';
import { inlineBlockPool } from './block-inline.ts';
import { startPayload } from './encrypt.ts';
import { CHUNK_BYTES, SEALED_CHUNK_BYTES } from './stream.ts';

/** What sealing produced: hex SHA-256 and length of the plaintext and of the whole age file. */
export interface SealStats {
  plaintextSha256: string;
  ciphertextSha256: string;
  plaintextBytes: number;
  ciphertextBytes: number;
}

/** Chunks per block: a block is the unit of reads, writes and worker requests. */
export const BLOCK_CHUNKS = 16;
const BLOCK_BYTES = BLOCK_CHUNKS * CHUNK_BYTES;
const SEALED_BLOCK_BYTES = BLOCK_CHUNKS * SEALED_CHUNK_BYTES;
/** Blocks in flight: enough that reads, both workers and writes all have one to work on. */
export const SLOT_COUNT = 6;
/** Below this size two threads cost more than they save. */
export const WORKER_MIN_BYTES = 8 * 1024 * 1024;

/** Fill `buf` from the file's current position; fewer bytes than its length means end of file. */
export async function readBlock(file: FileHandle, buf: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await file.read(buf, filled, buf.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** Write all of `buf` (a write may be partial). */
export async function writeAll(file: FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length; ) off += (await file.write(buf, off, buf.length - off)).bytesWritten;
}

/** `p`, marked as handled: its failure is reported where it is awaited, not as an unhandled rejection. */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** The slots and workers for a file of `size` bytes: threads from WORKER_MIN_BYTES, this thread below. */
export function blockPoolFor(size: number, key: Buffer): { slots: Slots; pool: BlockPool } {
  if (size >= WORKER_MIN_BYTES) {
    const slots = sharedSlots(SLOT_COUNT, BLOCK_BYTES, SEALED_BLOCK_BYTES);
    return { slots, pool: startBlockPool(slots, key) };
  }
  // Untouched memory past the file's end costs nothing: allocUnsafe does not fill it.
  const make = (n: number): Buffer => Buffer.allocUnsafe(n);
  const slots = {
    plain: [make(BLOCK_BYTES), make(BLOCK_BYTES)],
    sealed: [make(SEALED_BLOCK_BYTES), make(SEALED_BLOCK_BYTES)],
  };
  return { slots, pool: inlineBlockPool(slots, key) };
}

/** What a caller may do with each block as it goes by. */
export interface SealFileOptions {
  /**
   * Sees each plaintext block (up to 1 MiB) in file order before it is encrypted, on this
   * thread, e.g. to learn a dataset's schema in the same pass; may throw to abort the seal.
   * The buffer is reused once the call returns: copy what must be kept, and do not modify it.
   */
  onBlock?: (plaintext: Buffer) => void;
  /** Told the plaintext bytes sealed so far and the file's size, after each block. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Encrypt `input` into `output` through the pool's slots; returns the byte counts and digests. */
async function sealBlocks(
  input: FileHandle,
  output: FileHandle,
  prefix: Buffer,
  { slots, pool }: { slots: Slots; pool: BlockPool },
  options: SealFileOptions & { size: number },
) {
  const [plainWorker, sealedWorker] = pool.workers;
  const count = slots.plain.length;
  // free[s] settles when slot s has been hashed on both sides and written.
  const free: Promise<unknown>[] = Array.from({ length: count }, () => Promise.resolve());
  const prefixHashed = quiet(sealedWorker.request({ op: 'hashBytes', side: 'sealed', data: prefix }));
  // Writes, and the ciphertext hash's requests, go out in file order: each waits for the one before.
  let writing: Promise<void> = quiet(writeAll(output, prefix));
  let hashOrder: Promise<void> = prefixHashed.then(() => undefined);
  let nextRead: Promise<number> | null = null;
  let plaintextBytes = 0;
  let ciphertextBytes = prefix.length;
  try {
    let slot = 0;
    let bytes = await readBlock(input, slots.plain[0] as Buffer);
    for (let block = 0; ; block++) {
      const next = (slot + 1) % count;
      // A full block may be the last one: read ahead to know whether its final chunk ends the payload.
      nextRead =
        bytes === BLOCK_BYTES
          ? quiet((free[next] as Promise<unknown>).then(() => readBlock(input, slots.plain[next] as Buffer)))
          : null;
      options.onBlock?.((slots.plain[slot] as Buffer).subarray(0, bytes));
      const nextBytes = nextRead ? await nextRead : 0;
      const last = nextBytes === 0;
      const s = slot;
      const plainHashed = quiet(plainWorker.request({ op: 'hash', side: 'plain', slot: s, bytes }));
      // Alternate blocks between the workers; each also owns one hash, so their loads match.
      const sealer = block % 2 === 0 ? sealedWorker : plainWorker;
      const sealed = quiet(
        sealer
          .request({ op: 'seal', slot: s, bytes, first: block * BLOCK_CHUNKS, last })
          .then((r) => r.bytes as number),
      );
      const posted = quiet(
        hashOrder
          .then(() => sealed)
          .then((n) => ({ done: sealedWorker.request({ op: 'hash', side: 'sealed', slot: s, bytes: n }) })),
      );
      hashOrder = quiet(posted.then(() => undefined));
      plaintextBytes += bytes;
      const done = plaintextBytes;
      writing = quiet(
        writing.then(async () => {
          const n = await sealed;
          await writeAll(output, (slots.sealed[s] as Buffer).subarray(0, n));
          ciphertextBytes += n;
          options.onProgress?.(done, Math.max(options.size, done));
        }),
      );
      free[s] = quiet(Promise.all([plainHashed, posted.then((p) => p.done), writing]));
      if (last) break;
      slot = next;
      bytes = nextBytes;
    }
    await Promise.all(free);
    return { plaintextBytes, ciphertextBytes, ...(await poolDigests(pool)) };
  } finally {
    // On failure, let in-flight reads, writes and worker requests settle before the files close.
    await Promise.allSettled([...free, writing, hashOrder, nextRead]);
  }
}

/** Zero every plaintext slot (the sealed ones hold only ciphertext). */
export function wipePlain(slots: Slots): void {
  for (const b of slots.plain) b.fill(0);
}

/**
 * Encrypt `inPath` to `recipients` (`age1…`) into `outPath` (through a temporary file beside
 * it and a rename) and return the SHA-256 commitments. Throws invalid_recipient before any
 * file is touched, and the fs error (e.g. ENOENT) when a file cannot be read or written;
 * on any failure no temporary file is left behind and `outPath` is unchanged.
 */
export async function sealFile(
  inPath: string,
  outPath: string,
  recipients: string[],
  options: SealFileOptions = {},
): Promise<SealStats> {
  const payload = startPayload(recipients);
  const key = sharedKey(payload.key);
  payload.key.fill(0);
  const tmpPath = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.tmp`);
  let input: FileHandle | null = null;
  let output: FileHandle | null = null;
  let blocks: { slots: Slots; pool: BlockPool } | null = null;
  try {
    input = await open(inPath, 'r');
    const { size } = await input.stat();
    blocks = blockPoolFor(size, key);
    output = await open(tmpPath, 'wx');
    const stats = await sealBlocks(input, output, payload.prefix, blocks, { ...options, size });
    await output.close();
    output = null;
    await rename(tmpPath, outPath);
    return stats;
  } catch (e) {
    await output?.close().catch(() => undefined);
    output = null;
    await rm(tmpPath, { force: true });
    throw e;
  } finally {
    await blocks?.pool.close();
    key.fill(0);
    if (blocks) wipePlain(blocks.slots);
    await input?.close().catch(() => undefined);
    await output?.close().catch(() => undefined);
  }
}
