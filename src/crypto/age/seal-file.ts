/**
 * Seal a file on disk to age recipients (https://age-encryption.org/v1), atomically, with
 * the SHA-256 commitments a dataset manifest records.
 *
 * The age file is written to a temporary file beside the destination and renamed over it
 * only when complete, so nobody ever sees a partial file; on failure the temporary file is
 * removed. (The rename makes the result atomic for readers; it is not fsynced, so after a
 * power loss a re-seal may be needed: the manifest's ciphertext hash catches that.)
 *
 * The work is pipelined over a ring of 1 MiB slots: the next block is read while the current
 * one is encrypted, writes run behind, and both SHA-256 hashes run in a worker thread (see
 * seal-hasher.ts). Encryption stays on this thread, one 64 KiB STREAM chunk at a time.
 *
 * Why not encrypt on a pool of threads too (tried): on 2 cores the work is CPU-bound and
 * already spread over two threads. Per 256 MiB, measured in CPU-seconds: ChaCha20-Poly1305
 * ≈ 0.17 (a cipher object per 64 KiB chunk costs ~40% over one long stream), the two
 * SHA-256 commitments ≈ 0.30 (SHA-NI, ~1.7 GB/s each), reads and writes ≈ 0.15; `age -r`
 * spends ≈ 0.36 in all because it hashes nothing. Moving chunks to more threads adds
 * copies and messages without adding cores; the hashes are what a seal costs over age.
 * Also tried (2026-12-07, load 15-30): synchronous reads and writes with an Atomics hand-off
 * to the hash worker instead of messages — same CPU, slower wall time on the loaded machine,
 * where the thread pool's reads and writes were extra threads getting a share of the cores;
 * and one worker per hash — more CPU for no gain. At 1 GiB this costs ~5 CPU s against
 * age's ~1.1, and the two SHA-256 commitments alone (~1.3 CPU s) exceed age's whole run, so
 * sealFile cannot reach age's speed on CPU while the manifest commits to both hashes.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { startEncryption } from './encrypt.ts';
import { inlineHasher, workerHasher, type SealHasher } from './seal-hasher.ts';
import { CHUNK_BYTES, SEALED_CHUNK_BYTES, type StreamSealer } from './stream.ts';

/** What sealing produced: hex SHA-256 and length of the plaintext and of the whole age file. */
export interface SealStats {
  plaintextSha256: string;
  ciphertextSha256: string;
  plaintextBytes: number;
  ciphertextBytes: number;
}

const BLOCK_CHUNKS = 16;
const BLOCK_BYTES = BLOCK_CHUNKS * CHUNK_BYTES;
const SEALED_BLOCK_BYTES = BLOCK_CHUNKS * SEALED_CHUNK_BYTES;
const SLOT_COUNT = 4;
/** Below this size a hash thread costs more than it saves. */
const WORKER_MIN_BYTES = 8 * 1024 * 1024;

/** Fill `buf` from the file's current position; fewer bytes than its length means end of file. */
async function readBlock(file: FileHandle, buf: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await file.read(buf, filled, buf.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** Write all of `buf` (a write may be partial). */
async function writeAll(file: FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length; ) off += (await file.write(buf, off, buf.length - off)).bytesWritten;
}

/** Seal chunk `index` of the `plainBytes` in `plain` into `sealed` at `at`; returns the bytes written. */
function sealChunk(
  sealer: StreamSealer,
  plain: Buffer,
  plainBytes: number,
  index: number,
  last: boolean,
  sealed: Buffer,
  at: number,
): number {
  const start = index * CHUNK_BYTES;
  const [ciphertext, tag] = sealer.seal(
    plain.subarray(start, Math.min(plainBytes, start + CHUNK_BYTES)),
    last,
  );
  ciphertext.copy(sealed, at);
  tag.copy(sealed, at + ciphertext.length);
  return ciphertext.length + tag.length;
}

/** `p`, marked as handled: its failure is reported where it is awaited, not as an unhandled rejection. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** What a caller may do with each block as it goes by. */
export interface SealFileOptions {
  /**
   * Sees each plaintext block (up to 1 MiB) in file order before it is encrypted, on this
   * thread, e.g. to learn a dataset's schema in the same pass; may throw to abort the seal.
   * The buffer is reused once the call returns: copy what must be kept.
   */
  onBlock?: (plaintext: Buffer) => void;
  /** Told the plaintext bytes sealed so far and the file's size, after each block. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Encrypt `input` into `output` through the hasher's slots; returns the byte counts. */
async function sealBlocks(
  input: FileHandle,
  output: FileHandle,
  prefix: Buffer,
  sealer: StreamSealer,
  hasher: SealHasher,
  options: SealFileOptions & { size: number },
) {
  const { plain, sealed } = hasher.slots;
  // free[s] settles when slot s has been hashed and written; `writing` chains the writes.
  const free: Promise<unknown>[] = Array.from({ length: SLOT_COUNT }, () => Promise.resolve());
  hasher.prefix(prefix);
  let writing: Promise<void> = quiet(writeAll(output, prefix));
  let nextRead: Promise<number> | null = null;
  try {
    let plaintextBytes = 0;
    let ciphertextBytes = prefix.length;
    let slot = 0;
    let bytes = await readBlock(input, plain[0] as Buffer);
    for (;;) {
      const nextSlot = (slot + 1) % SLOT_COUNT;
      // A full block may be the last one: read ahead, and seal its final chunk after.
      nextRead =
        bytes === BLOCK_BYTES
          ? quiet(
              (free[nextSlot] as Promise<unknown>).then(() => readBlock(input, plain[nextSlot] as Buffer)),
            )
          : null;
      const chunks = Math.max(1, Math.ceil(bytes / CHUNK_BYTES));
      const out = sealed[slot] as Buffer;
      options.onBlock?.((plain[slot] as Buffer).subarray(0, bytes));
      let at = 0;
      for (let c = 0; c < chunks - 1; c++)
        at += sealChunk(sealer, plain[slot] as Buffer, bytes, c, false, out, at);
      const nextBytes = nextRead ? await nextRead : 0;
      const last = nextBytes === 0;
      at += sealChunk(sealer, plain[slot] as Buffer, bytes, chunks - 1, last, out, at);
      plaintextBytes += bytes;
      ciphertextBytes += at;
      options.onProgress?.(plaintextBytes, Math.max(options.size, plaintextBytes));
      const sealedBytes = at;
      writing = quiet(writing.then(() => writeAll(output, out.subarray(0, sealedBytes))));
      free[slot] = quiet(Promise.all([hasher.block(slot, bytes, sealedBytes), writing]));
      if (last) break;
      slot = nextSlot;
      bytes = nextBytes;
    }
    await Promise.all(free);
    return { plaintextBytes, ciphertextBytes };
  } finally {
    // On failure, let in-flight reads, writes and hashes settle before the files close.
    await Promise.allSettled([...free, writing, nextRead]);
  }
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
  const { prefix, sealer } = startEncryption(recipients);
  const tmpPath = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.tmp`);
  let input: FileHandle | null = null;
  let output: FileHandle | null = null;
  let hasher: SealHasher | null = null;
  try {
    input = await open(inPath, 'r');
    const { size } = await input.stat();
    const makeHasher = size >= WORKER_MIN_BYTES ? workerHasher : inlineHasher;
    hasher = makeHasher(SLOT_COUNT, BLOCK_BYTES, SEALED_BLOCK_BYTES);
    output = await open(tmpPath, 'wx');
    const counts = await sealBlocks(input, output, prefix, sealer, hasher, { ...options, size });
    const digests = await hasher.digest();
    await output.close();
    output = null;
    await rename(tmpPath, outPath);
    return { plaintextSha256: digests.plain, ciphertextSha256: digests.sealed, ...counts };
  } catch (e) {
    await output?.close().catch(() => undefined);
    output = null;
    await rm(tmpPath, { force: true });
    throw e;
  } finally {
    sealer.wipe();
    await hasher?.close();
    await input?.close().catch(() => undefined);
    await output?.close().catch(() => undefined);
  }
}
