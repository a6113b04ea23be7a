/**
 * Writing a dataset's store (format.ts) from its checked, parsed rows — whole, or as the
 * pieces of a dataset streamed for being larger than memory (each piece written as it
 * comes, so only one piece's plaintext is in memory). The store is written into a staging
 * directory beside its place, each file fsync'd, then renamed into place in one step: a
 * crash — or a stream that fails its checks at the end — leaves either no store (the
 * dataset is read from its sealed upload, as before the store existed) or a whole one,
 * never half of one. Staging left by a crash is removed by the next write.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Data } from 'apache-arrow';
import type { DatasetSchema, ParsedDataset } from '../../data/index.ts';
import { tableFromBatches } from '../../data/columns.ts';
import { ownBits } from './chunk-bits.ts';
import { chunkTable, encodeStringChunk } from './dictionary.ts';
import { chunkAad, indexAad, STORE_CHUNK_ROWS, STORE_FORMAT, type StoreIndex } from './format.ts';
import { storeKey } from './keys.ts';
import { ipcParts } from './ipc-parts.ts';
import { sealPiece, sealRanges } from './seal.ts';

/** Chunks whose writes may be on their way at once (their sealed bytes held until written). */
const WRITES_AHEAD = 2;

/**
 * Write the store of `data` (checked against the manifest hashing to `manifestHash`) at
 * `dir`, replacing any store there. `chunkRows` is for tests.
 */
export async function writeStore(
  dir: string,
  data: ParsedDataset,
  manifestHash: string,
  ageIdentity: string,
  chunkRows = STORE_CHUNK_ROWS,
): Promise<void> {
  const result = await writeStoreFrom(
    dir,
    { schema: data.schema, rows: data.rows },
    (async function* () {
      yield data;
    })(),
    manifestHash,
    ageIdentity,
    chunkRows,
  );
  if (result !== 'written') throw result;
}

/**
 * Write the store of a dataset of `rows` rows (the manifest's) arriving as `pieces`, in
 * order. Every chunk but the last holds exactly `chunkRows` rows, so the number of chunks
 * each chunk's additional data names is known before the first arrives. Errors of `pieces`
 * (a stream failing its checks) are thrown, with nothing left behind; a failure to write
 * (a full disk) is returned instead, after `pieces` has been read to its end, so that a
 * caller checking the stream still sees every check. `chunkRows` and `openFile` (how the
 * store's files are opened: a test's wrapper makes a write fail) are for tests.
 */
export async function writeStoreFrom(
  dir: string,
  shape: { schema: DatasetSchema; rows: number },
  pieces: AsyncIterable<ParsedDataset>,
  manifestHash: string,
  ageIdentity: string,
  chunkRows = STORE_CHUNK_ROWS,
  openFile: typeof open = open,
): Promise<'written' | Error> {
  const { schema, rows } = shape;
  const parent = dirname(dir);
  let staging: string | undefined;
  const files: FileHandle[] = [];
  let failed: Error | undefined;
  const attempt = async (fn: () => Promise<void>) => {
    if (failed) return;
    try {
      await fn();
    } catch (e) {
      failed = e instanceof Error ? e : new Error('store write failed');
    }
  };
  const key = storeKey(ageIdentity, manifestHash);
  const count = Math.ceil(rows / chunkRows);
  const chunks: number[] = [];
  const extents: [number, number][][] = schema.map(() => []);
  const offsets = schema.map(() => 0);
  // Rows waiting for their chunk to fill: per column, the slices of the pieces they came in.
  let pending: Data[][] = schema.map(() => []);
  let pendingRows = 0;
  // The chunks' writes still on their way, a chunk's columns together: at most WRITES_AHEAD
  // chunks, so the sealed bytes held stay bounded (a chunk's are a few MB).
  const writing: Promise<unknown>[] = [];
  const settled = async () => {
    const all = await Promise.allSettled(writing.splice(0));
    const bad = all.find((r) => r.status === 'rejected');
    if (bad) throw bad.reason;
  };
  const flush = async () => {
    const writes: Promise<void>[] = [];
    const j = chunks.length;
    for (const [c, spec] of schema.entries()) {
      const parts = pending[c] as Data[];
      // A string chunk with few distinct values is kept as a dictionary (dictionary.ts).
      const encoded = spec.type === 'string' ? encodeStringChunk(parts) : undefined;
      // Every slice's bitmaps cut to its own rows at bit 0 (chunk-bits.ts), not the whole
      // column's, nor re-packed bit by bit in Arrow's writer.
      const aligned = parts.map(ownBits);
      const table = encoded
        ? chunkTable(spec.name, encoded)
        : tableFromBatches(
            [spec.name],
            [{ type: spec.type }],
            aligned.map((d) => ({ length: d.length, columns: [d] })),
          );
      // The IPC stream as ranges, most of them views of the parsed columns: sealed range by
      // range, so no joined copy of the chunk is made (ipc-parts.ts); the writer's own
      // ranges (string offsets rebased to the chunk, bitmaps, a dictionary) are wiped once sealed.
      const ipc = ipcParts(table);
      const sealed = sealRanges(key, chunkAad(manifestHash, c, spec.name, j, count), ipc.parts);
      for (const copy of ipc.copies) copy.fill(0);
      // Fresh bitmaps wiped; values a slice shares with the parsed column are left alone.
      for (const [k, d] of aligned.entries()) {
        const part = parts[k] as Data;
        if (spec.type === 'bool' && d.values !== part.values) (d.values as Uint8Array).fill(0);
        if (d.nullBitmap && d.nullBitmap !== part.nullBitmap) d.nullBitmap.fill(0);
      }
      const length = sealed.reduce((n, p) => n + p.length, 0);
      // Written at its place in the column's file, not awaited here: this thread seals the
      // next columns and chunks meanwhile. Before, each of a chunk's writes was awaited in
      // turn, a round trip through the I/O threads each (6 a chunk, 460 for 10M rows), which
      // on a loaded machine waited for a core every time.
      const file = files[c] as FileHandle;
      const at = offsets[c] as number;
      writes.push(
        file.writev(sealed, at).then(({ bytesWritten }) => {
          if (bytesWritten !== length) throw new Error('short write');
        }),
      );
      (extents[c] as [number, number][]).push([at, length]);
      offsets[c] = (offsets[c] as number) + length;
    }
    chunks.push(pendingRows);
    pending = schema.map(() => []);
    pendingRows = 0;
    // Settled once all of the chunk's writes have (none left using a file), with the first
    // failure; seen when awaited (below or at the end), not as an unhandled rejection.
    const chunk = Promise.allSettled(writes).then((all) => {
      const bad = all.find((r) => r.status === 'rejected');
      if (bad) throw bad.reason;
    });
    chunk.catch(() => {});
    writing.push(chunk);
    if (writing.length > WRITES_AHEAD) await writing.shift();
  };
  try {
    await attempt(async () => {
      await mkdir(parent, { recursive: true });
      const prefix = `${basename(dir)}.staging-`;
      for (const f of await readdir(parent))
        if (f.startsWith(prefix)) await rm(join(parent, f), { recursive: true, force: true });
      staging = join(parent, `${prefix}${randomBytes(6).toString('hex')}`);
      await mkdir(staging, { mode: 0o700 });
      for (const c of schema.keys()) files.push(await openFile(join(staging, `c${c}`), 'wx', 0o600));
    });
    for await (const piece of pieces) {
      await attempt(async () => {
        const columns = schema.map((_, c) => piece.table.getChildAt(c));
        if (columns.some((v) => !v)) throw new Error('column missing');
        for (let at = 0; at < piece.rows; ) {
          const take = Math.min(chunkRows - pendingRows, piece.rows - at);
          for (const [c, column] of columns.entries())
            (pending[c] as Data[]).push(...(column?.slice(at, at + take).data ?? []));
          pendingRows += take;
          at += take;
          if (pendingRows === chunkRows) await flush();
        }
      });
    }
    await attempt(async () => {
      if (pendingRows > 0) await flush();
      await settled();
      if (chunks.length !== count || chunks.reduce((a, b) => a + b, 0) !== rows)
        throw new Error('row count differs from the manifest');
      // The columns' files flushed side by side (the I/O threads wait on the disk, not this
      // thread), their data and size only (fdatasync): what the rename into place needs.
      await Promise.all(files.map((f) => f.datasync()));
      const index: StoreIndex = { format: STORE_FORMAT, manifestHash, schema, rows, chunks, extents };
      const file = await openFile(join(staging as string, 'index'), 'wx', 0o600);
      try {
        await file.write(sealPiece(key, indexAad(manifestHash), Buffer.from(JSON.stringify(index))));
        await file.datasync();
      } finally {
        await file.close();
      }
    });
  } catch (e) {
    await Promise.allSettled(writing.splice(0));
    await cleanUp(files, staging);
    throw e;
  }
  // A write failed (failed says so) while others were on their way: none left using the files.
  await Promise.allSettled(writing.splice(0));
  for (const f of files) await f.close().catch(() => {});
  if (failed) {
    await cleanUp([], staging);
    return failed;
  }
  const done = await (async () => {
    await rm(dir, { recursive: true, force: true });
    await rename(staging as string, dir);
  })().then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e : new Error('store write failed')),
  );
  if (done) {
    await cleanUp([], staging);
    return done;
  }
  return 'written';
}

async function cleanUp(files: FileHandle[], staging: string | undefined): Promise<void> {
  for (const f of files) await f.close().catch(() => {});
  if (staging) await rm(staging, { recursive: true, force: true });
}
