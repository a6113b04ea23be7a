/**
 * Seal a file on disk to age recipients (https://age-encryption.org/v1), atomically, with
 * the SHA-256 commitments a dataset manifest records.
 *
 * The age file is written to a temporary file beside the destination and renamed over it
 * only when complete, so nobody ever sees a partial file; on failure the temporary file is
 * removed. (The rename makes the result atomic for readers; it is not fsynced, so after a
 * power loss a re-seal may be needed: the manifest's ciphertext hash catches that.)
 *
 * The work runs on two worker threads over a ring of 1 MiB slots in shared memory
 * (block-crypt.ts, block-worker.ts): one reads the plaintext and hashes it, the other
 * hashes the ciphertext and hands each block to this thread, which writes it; the cipher
 * goes to whichever thread is free. That spreads the three sequential costs (the cipher,
 * which STREAM lets us split, and the two hashes, which we cannot) over two cores with no
 * round trip through this thread between reading and sealing. Small files run the same
 * steps on this thread (block-inline.ts).
 *
 * Measured history (BENCHMARKS.md "Sealing"): encrypting on this thread with one hash
 * worker spent ~5 CPU s on 1 GiB at load 30, against `age -r`'s ~1.1; the two SHA-256
 * commitments alone are ~1.2 CPU s of that, which `age` does not pay.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type BlockJobResult,
  type BlockJobSpec,
  runBlockJob,
  type Slots,
  giveSlots,
  sharedKey,
  takeSlots,
} from './block-crypt.ts';
import { runInline } from './block-inline.ts';
import type { BlockScan } from './block-worker.ts';
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

/** Slots and the runner for a job over `size` bytes: two threads from WORKER_MIN_BYTES, this thread below. */
export function blocksFor(size: number): {
  slots: Slots;
  run: (spec: BlockJobSpec) => Promise<BlockJobResult>;
} {
  if (size >= WORKER_MIN_BYTES) {
    return { slots: takeSlots(SLOT_COUNT, BLOCK_BYTES, SEALED_BLOCK_BYTES), run: runBlockJob };
  }
  // Untouched memory past the file's end costs nothing: allocUnsafe does not fill it.
  const make = (n: number): Buffer => Buffer.allocUnsafe(n);
  const slots = {
    plain: [make(BLOCK_BYTES), make(BLOCK_BYTES)],
    sealed: [make(SEALED_BLOCK_BYTES), make(SEALED_BLOCK_BYTES)],
  };
  return { slots, run: runInline };
}

/** What a caller may do with each block as it goes by. */
export interface SealFileOptions {
  /**
   * Sees each plaintext block (up to 1 MiB) in file order, on this thread, while the workers
   * go on sealing, e.g. to learn a dataset's schema in the same pass; may throw to abort the
   * seal (then no output is left). The slot is not reused until the call returns.
   * The buffer is reused once the call returns: copy what must be kept, and do not modify it.
   */
  onBlock?: (plaintext: Buffer) => void;
  /** onBlock sees only the blocks that start before this many bytes of the file (default: every block). */
  onBlockBytes?: number;
  /**
   * Run on every plaintext block in file order by the thread that read and hashed it, with
   * no hop to this thread (e.g. to count a CSV's rows): a self-contained function (no
   * imports, no free names but JavaScript's own; the threads run its source text) and its
   * state, which must live in shared memory (a SharedArrayBuffer) for this thread to read the result.
   */
  scan?: { step: BlockScan; state: Float64Array };
  /** Told the plaintext bytes sealed so far and the file's size, after each block. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
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
  let slots: Slots | null = null;
  try {
    input = await open(inPath, 'r');
    const { size } = await input.stat();
    const blocks = blocksFor(size);
    slots = blocks.slots;
    output = await open(tmpPath, 'wx');
    const { onBlock, onBlockBytes, onProgress, scan } = options;
    const r = await blocks.run({
      mode: 'seal',
      slots,
      key,
      blockChunks: BLOCK_CHUNKS,
      inFd: input.fd,
      inStart: 0,
      outFd: output.fd,
      prefix: payload.prefix,
      ...(onBlock ? { onBlock: (block: Buffer) => onBlock(block) } : {}),
      ...(onBlockBytes !== undefined ? { onBlockBytes } : {}),
      ...(scan ? { scan } : {}),
      ...(onProgress ? { onProgress: (done: number) => onProgress(done, Math.max(size, done)) } : {}),
    });
    const stats: SealStats = {
      plaintextSha256: r.inSha256,
      ciphertextSha256: r.outSha256,
      plaintextBytes: r.inBytes,
      ciphertextBytes: r.outBytes,
    };
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
    key.fill(0);
    if (slots) {
      wipePlain(slots);
      giveSlots(slots);
    }
    await input?.close().catch(() => undefined);
    await output?.close().catch(() => undefined);
  }
}
