/**
 * Content-addressed ciphertext blobs on disk: `blobs/sha256/ab/abcdef…`. Writes stream to a
 * temporary file in the same folder tree, hashing as they go, are fsync'd and renamed into
 * place only once complete, so a crash or a rejected upload never leaves a partial blob.
 * Only ciphertext is ever written here.
 *
 * Beside a blob may sit `<blob>.store/`, the enclave's columnar store of the datasets sealed
 * in it (src/enclave/store/, ciphertext too): the enclave writes it next to the staged blob
 * while it checks an upload, and it moves, is discarded and is swept with its blob.
 *
 * A full disk refuses the upload as 'storage_full' (507) and keeps nothing of it, whether the
 * filesystem says so (ENOSPC, EDQUOT) or the operator's floor of free space would be crossed
 * (`minFreeBytes`, OBSCURA_MIN_FREE_BYTES): the node keeps room for its own database, chain
 * and sealed state, and takes uploads again once space returns.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, statfsSync } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { ObscuraError } from '../../common/errors.ts';

/** A blob written to a temporary location, not yet committed. */
export interface StagedBlob {
  sha256: string;
  bytes: number;
  tmpPath: string;
  /** The first bytes of the blob (for header checks), at most 64 KiB. */
  head: Buffer;
}

/** How often (in bytes streamed) staging checks the free space again. */
const ROOM_CHECK_BYTES = 4 * 1024 ** 2;

/** The error for an upload the disk has no room for. */
export function storageFull(): ObscuraError {
  return new ObscuraError(
    'storage_full',
    'the node has no room left to store this upload; nothing of it was kept (try again once the operator frees space)',
    507,
  );
}

/** Whether `e` is the filesystem saying it is full (or the user's quota is). */
function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The content-addressed blob store. */
export class BlobStore {
  /**
   * @param root the folder of the blobs
   * @param minFreeBytes free space the store never writes into (default 0: only a full disk refuses)
   */
  constructor(
    private readonly root: string,
    private readonly minFreeBytes = 0,
  ) {
    mkdirSync(join(root, 'tmp'), { recursive: true });
  }

  /** Throw 'storage_full' unless `bytes` more fit above the floor of free space. */
  assertRoom(bytes = 0): void {
    const fs = statfsSync(this.root);
    if (fs.bavail * fs.bsize - bytes < this.minFreeBytes) throw storageFull();
  }

  /** Path of the blob with this hash. */
  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new ObscuraError('blob_hash_invalid', 'blob hash must be 64 hex characters', 400);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Whether a blob with this hash exists. */
  has(sha256: string): boolean {
    return existsSync(this.pathOf(sha256));
  }

  /**
   * Stream `source` to a temporary file, hashing it; throws `tooLarge()` (default
   * 'upload_too_large') past `maxBytes`. On any failure, the source destroyed included, the
   * file is closed and deleted before the promise rejects.
   */
  async stage(source: Readable, maxBytes: number, tooLarge?: () => Error): Promise<StagedBlob> {
    const tmpPath = join(this.root, 'tmp', `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    let bytes = 0;
    const heads: Buffer[] = [];
    let headBytes = 0;
    let checked = 0;
    const assertRoom = (bytes: number) => this.assertRoom(bytes);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          done(
            tooLarge
              ? tooLarge()
              : new ObscuraError('upload_too_large', `upload exceeds the limit of ${maxBytes} bytes`, 413),
          );
          return;
        }
        if (headBytes < 65536) {
          heads.push(chunk.subarray(0, 65536 - headBytes));
          headBytes += Math.min(chunk.length, 65536 - headBytes);
        }
        if (bytes - checked >= ROOM_CHECK_BYTES) {
          checked = bytes;
          try {
            assertRoom(ROOM_CHECK_BYTES);
          } catch (e) {
            done(e as Error);
            return;
          }
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      this.assertRoom();
      // Created before the stream starts, which then opens it without creating: a write
      // stream opens its file asynchronously, so a source refused at once (too large)
      // rejected the pipeline before the file existed, the rm below ran first, and the open
      // then left an orphan .part behind (about once in 200 refusals).
      await (await open(tmpPath, 'wx', 0o600)).close();
      await pipeline(source, meter, createWriteStream(tmpPath, { flags: 'r+' }));
      const fh = await open(tmpPath, 'r');
      await fh.sync();
      await fh.close();
    } catch (e) {
      await rm(tmpPath, { force: true });
      throw isDiskFull(e) ? storageFull() : e;
    }
    return { sha256: hash.digest('hex'), bytes, tmpPath, head: Buffer.concat(heads) };
  }

  /** Move a staged blob into place under its hash (atomic rename). */
  async commit(staged: StagedBlob): Promise<string> {
    const dest = this.pathOf(staged.sha256);
    try {
      mkdirSync(join(dest, '..'), { recursive: true });
      // The store first: a crash before the blob's rename leaves a store without its blob, which the next start sweeps.
      await moveStore(`${staged.tmpPath}.store`, `${dest}.store`);
      await rename(staged.tmpPath, dest);
    } catch (e) {
      throw isDiskFull(e) ? storageFull() : e;
    }
    return dest;
  }

  /** Remove a committed blob (its dataset could not be recorded). */
  async remove(sha256: string): Promise<void> {
    await rm(`${this.pathOf(sha256)}.store`, { recursive: true, force: true });
    await rm(this.pathOf(sha256), { force: true });
  }

  /** Drop a staged blob. */
  async discard(staged: StagedBlob): Promise<void> {
    await rm(`${staged.tmpPath}.store`, { recursive: true, force: true });
    await rm(staged.tmpPath, { force: true });
  }

  /**
   * Remove committed blobs whose hash is not in `keep` (the datasets recorded): an upload
   * that died between the blob's commit and the dataset's record was never acknowledged, so
   * its blob must not stay. Run at start, before uploads are taken. Returns how many went.
   */
  async sweepOrphans(keep: ReadonlySet<string>): Promise<number> {
    const root = join(this.root, 'sha256');
    if (!existsSync(root)) return 0;
    let removed = 0;
    for (const dir of await readdir(root)) {
      for (const name of await readdir(join(root, dir))) {
        if (keep.has(name.replace(/\.store$/, ''))) continue;
        await rm(join(root, dir, name), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Remove leftovers of uploads interrupted by a crash. */
  async sweepTmp(): Promise<void> {
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    mkdirSync(join(this.root, 'tmp'), { recursive: true });
  }
}

/** Move the stores in `from` (one directory per manifest) into `to`, replacing any of the same manifest. */
async function moveStore(from: string, to: string): Promise<void> {
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true });
  for (const name of await readdir(from)) {
    await rm(join(to, name), { recursive: true, force: true });
    await rename(join(from, name), join(to, name));
  }
  await rm(from, { recursive: true, force: true });
}
