/**
 * Reading a dataset's store (format.ts): the index, then only the chunks of the columns a
 * job reads, each opened and checked against its place before its rows are used. Returns a
 * parsed dataset with one record batch per chunk, whose table holds those columns' values
 * and all-null (Null-typed) columns for the others; its schema is the whole dataset's,
 * checked against the manifest's.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Data, type DataType, makeData, Null } from 'apache-arrow';
import { tableFromBatches } from '../../data/columns.ts';
import type { ColumnType, DatasetSchema, ParsedDataset } from '../../data/index.ts';
import { decodeStringDictionary, isStringDictionary, stringDictionaryType } from './dictionary.ts';
import { chunkPlace, decodeChunk, type WantedColumn, wantedColumns } from './chunk-places.ts';
import { indexAad, STORE_FORMAT, type StoreIndex, storeCorrupt } from './format.ts';
import { storeKey } from './keys.ts';
import { type OpenedChunks, openOnThreads } from './decrypt-pool.ts';
import { openPiece } from './seal.ts';

/**
 * Where the store of the dataset with this manifest hash is kept, beside its sealed upload
 * at `blobPath` (one directory per manifest: two datasets may share a sealed file).
 */
export function storePathFor(blobPath: string, manifestHash: string): string {
  return join(`${blobPath}.store`, manifestHash);
}

/** The index of the store at `dir`, or undefined when there is none; throws store_corrupt when it does not open. */
export async function readStoreIndex(
  dir: string,
  dataset: string,
  manifestHash: string,
  ageIdentity: string,
): Promise<StoreIndex | undefined> {
  let sealed: Buffer;
  try {
    sealed = await readFile(join(dir, 'index'));
  } catch {
    return undefined;
  }
  const plain = openPiece(storeKey(ageIdentity, manifestHash), indexAad(manifestHash), sealed);
  if (!plain) throw storeCorrupt(dataset, 'index');
  const index = JSON.parse(plain.toString('utf8')) as StoreIndex;
  const total = index.chunks.reduce((a, b) => a + b, 0);
  if (index.format !== STORE_FORMAT || index.manifestHash !== manifestHash || total !== index.rows)
    throw storeCorrupt(dataset, 'index');
  return index;
}

/** Which store to read, for whom, and which columns (every column when omitted). */
export interface ReadStoreOptions {
  dataset: string;
  ageIdentity: string;
  schema: DatasetSchema;
  columns?: readonly string[];
  /**
   * Whether the chunks are opened on the store's threads (decrypt-pool.ts) rather than on
   * the calling thread; by default when the read is large (THREADS_FROM_BYTES sealed).
   */
  threads?: boolean;
}

/**
 * The columns `columns` of the dataset in the store at `dir` (every column when omitted).
 * Throws store_corrupt naming the dataset, column and chunk that does not open, and
 * schema_mismatch when the store's schema is not `schema`.
 */
export async function readStore(
  dir: string,
  index: StoreIndex,
  opts: ReadStoreOptions,
): Promise<ParsedDataset> {
  const { data, buffers } = await readStoreChunks(dir, index, opts, 0, index.chunks.length, spares.pop());
  if (buffers.length > 0) lent.set(data, buffers);
  return data;
}

/**
 * Give back the memory of a dataset readStore returned, once nothing reads it any more (its
 * job has run): a later read's threads write into it instead of fresh memory, whose first
 * touch and collection cost a 1M-row job a quarter of its CPU (measured). From then on the
 * dataset's columns must not be read: once reused they read nothing (the memory has moved
 * to another thread), never another read's rows. Anything else is ignored.
 */
export function releaseStoreRead(data: ParsedDataset): void {
  const buffers = lent.get(data);
  if (!buffers) return;
  lent.delete(data);
  spares.push(buffers);
  let kept = 0;
  for (let i = spares.length - 1; i >= 0; i--) {
    kept += (spares[i] as ArrayBuffer[]).reduce((n, b) => n + b.byteLength, 0);
    if (kept > SPARE_BYTES) {
      spares.splice(0, i + 1);
      break;
    }
  }
}

// The buffers of each dataset read on the threads, and those given back, newest last; at
// most SPARE_BYTES are kept between jobs (a 1M-row, 3-column read is about 18 MiB).
const lent = new WeakMap<ParsedDataset, ArrayBuffer[]>();
const spares: ArrayBuffer[][] = [];
const SPARE_BYTES = 64 * 1024 * 1024;

/**
 * The store's chunks as pieces of about `rowsPerPiece` rows (whole chunks, at least one per
 * piece), for a job that streams a dataset larger than memory: at most two pieces' columns
 * are in memory at once, the one the caller has and the next, read meanwhile. A piece is
 * the caller's until it asks for the next one: then its memory may be reused (its columns
 * read empty). Throws what readStore throws, for a piece when it is asked for.
 */
export async function* readStorePieces(
  dir: string,
  index: StoreIndex,
  opts: ReadStoreOptions,
  rowsPerPiece: number,
): AsyncGenerator<ParsedDataset> {
  const pieces: [number, number][] = [];
  for (let from = 0; from < index.chunks.length; ) {
    let to = from + 1;
    let rows = index.chunks[from] as number;
    while (to < index.chunks.length && rows + (index.chunks[to] as number) <= rowsPerPiece)
      rows += index.chunks[to++] as number;
    pieces.push([from, to]);
    from = to;
  }
  // The next piece is decrypted (on the store's threads) while the caller runs this one, so
  // at most two pieces' columns are in memory. A piece the caller is done with lends its
  // buffers to the one after next: transferred to the threads, which empties its views.
  let spare: ArrayBuffer[] = [];
  const start = (k: number) => {
    const [from, to] = pieces[k] as [number, number];
    const read = readStoreChunks(dir, index, opts, from, to, spare);
    spare = [];
    // Its failure is thrown when the caller asks for that piece, not while it runs this one.
    read.catch(() => {});
    return read;
  };
  let next = pieces.length > 0 ? start(0) : undefined;
  try {
    for (let k = 0; next; k++) {
      const piece = await next;
      next = k + 1 < pieces.length ? start(k + 1) : undefined;
      yield piece.data;
      spare = piece.buffers;
    }
  } finally {
    await next?.catch(() => {});
  }
}

/** A threshold of sealed bytes under which a read is opened on the calling thread (a hop to the threads costs more). */
export const THREADS_FROM_BYTES = 4 * 1024 * 1024;

/** A sealed chunk of a read: its column (of those read), chunk, place and additional data. */
interface ChunkRead {
  k: number;
  i: number;
  name: string;
  j: number;
  offset: number;
  length: number;
  aad: Buffer;
}

/**
 * Chunks `[from, to)` of the store as one parsed dataset (one record batch per part of a
 * chunk), and the buffers the threads wrote its columns into (none when opened here).
 */
async function readStoreChunks(
  dir: string,
  index: StoreIndex,
  opts: ReadStoreOptions,
  from: number,
  to: number,
  reuse: readonly ArrayBuffer[] = [],
): Promise<{ data: ParsedDataset; buffers: ArrayBuffer[] }> {
  const { dataset, ageIdentity } = opts;
  const wanted = wantedColumns(index, dataset, opts.schema, opts.columns);
  const key = storeKey(ageIdentity, index.manifestHash);
  const reads: ChunkRead[] = [];
  for (const [k, col] of wanted.entries())
    for (let j = from; j < to; j++)
      reads.push({ k, i: col.i, name: col.name, j, ...chunkPlace(index, dataset, col, j) });
  const sealedBytes = reads.reduce((n, r) => n + r.length, 0);
  const threaded = opts.threads ?? sealedBytes >= THREADS_FROM_BYTES;
  const opened =
    threaded && reads.length > 0 ? await openThreaded(dir, dataset, key, reads, reuse) : undefined;
  const plains = opened?.plains ?? (await openHere(dir, dataset, key, reads));
  // Per column read, per chunk: its parts (a chunk written from several streamed pieces has several).
  const perColumn: Data[][][] = wanted.map(() => []);
  for (const [n, r] of reads.entries())
    (perColumn[r.k] as Data[][]).push(
      decodeChunk(plains[n] as Uint8Array, index, dataset, wanted[r.k] as WantedColumn, r.j),
    );
  const data = assemble(index, opts, wanted, perColumn, from, to);
  return { data, buffers: opened?.buffers ?? [] };
}

/** Every file of the columns `reads` names, opened in column order; throws store_corrupt for one that does not open. */
async function openFiles(
  dir: string,
  dataset: string,
  reads: readonly ChunkRead[],
): Promise<Map<number, FileHandle>> {
  const files = new Map<number, FileHandle>();
  try {
    for (const r of reads) {
      if (files.has(r.i)) continue;
      files.set(
        r.i,
        await open(join(dir, `c${r.i}`), 'r').catch(() => {
          throw storeCorrupt(dataset, `column ${r.i}`);
        }),
      );
    }
  } catch (e) {
    await Promise.all([...files.values()].map((f) => f.close()));
    throw e;
  }
  return files;
}

/**
 * The chunks opened on the store's threads (decrypt-pool.ts), or undefined when a thread
 * stopped (the read is then done here). Throws store_corrupt naming the first that failed.
 */
async function openThreaded(
  dir: string,
  dataset: string,
  key: Buffer,
  reads: readonly ChunkRead[],
  reuse: readonly ArrayBuffer[],
): Promise<OpenedChunks | undefined> {
  const files = await openFiles(dir, dataset, reads);
  try {
    const chunks = reads.map((r) => ({
      fd: (files.get(r.i) as FileHandle).fd,
      offset: r.offset,
      length: r.length,
      aad: r.aad.toString('utf8'),
    }));
    const opened = await openOnThreads(key, chunks, reuse).catch(() => undefined);
    if (opened && 'failed' in opened) {
      const r = reads[opened.failed] as ChunkRead;
      throw storeCorrupt(dataset, `column ${r.i}, chunk ${r.j}`);
    }
    return opened;
  } finally {
    await Promise.all([...files.values()].map((f) => f.close()));
  }
}

/** The chunks opened on this thread, one after another. Throws store_corrupt naming the first that fails. */
async function openHere(
  dir: string,
  dataset: string,
  key: Buffer,
  reads: readonly ChunkRead[],
): Promise<Buffer[]> {
  const plains: Buffer[] = [];
  if (reads.length === 0) return plains;
  // Sealed chunks are read one at a time into one reused buffer: reading a column's span
  // whole cost a fresh buffer the size of the ciphertext per job, whose first touch and
  // release (external memory the collector sweeps) cost more than the read (measured).
  const scratch = takeScratch();
  const files = await openFiles(dir, dataset, reads).catch((e) => {
    scratch.free = true;
    throw e;
  });
  try {
    for (const r of reads) {
      const where = `column ${r.i}, chunk ${r.j}`;
      const sealed = await readRange(files.get(r.i) as FileHandle, r.offset, r.length, scratch).catch(() => {
        throw storeCorrupt(dataset, where);
      });
      const plain = sealed.length === r.length ? openPiece(key, r.aad, sealed) : undefined;
      if (!plain) throw storeCorrupt(dataset, where);
      plains.push(plain);
    }
  } finally {
    scratch.free = true;
    await Promise.all([...files.values()].map((f) => f.close()));
  }
  return plains;
}

/** The parsed dataset of chunks `[from, to)` from their columns' Arrow data. */
function assemble(
  index: StoreIndex,
  opts: ReadStoreOptions,
  wanted: readonly { i: number }[],
  perColumn: Data[][][],
  from: number,
  to: number,
): ParsedDataset {
  const { dataset } = opts;
  // A string column read whole as dictionary chunks stays one (its Arrow type says so); one
  // mixing both kinds — a chunk with many distinct values among few — is read as plain
  // strings, the dictionary chunks decoded.
  const arrowTypes: (DataType | undefined)[] = index.schema.map(() => undefined);
  for (const [k, col] of wanted.entries()) {
    const datas = perColumn[k] as Data[][];
    const dict = datas.map((parts) => parts.map(isStringDictionary));
    if (!dict.some((parts) => parts.some(Boolean))) continue;
    if (dict.every((parts) => parts.every(Boolean))) arrowTypes[col.i] = stringDictionaryType();
    else
      for (const parts of datas)
        for (const [p, d] of parts.entries()) if (isStringDictionary(d)) parts[p] = decodeStringDictionary(d);
  }
  // Chunks hold the same rows in every column, cut into the same parts. The table keeps every
  // column in schema order (the loader finds columns by position); columns not read are
  // Null columns, never loaded.
  const batches: { length: number; columns: Data[] }[] = [];
  for (let j = from; j < to; j++) {
    const parts = perColumn.map((datas) => datas[j - from] as Data[]);
    const lengths = (parts[0] ?? [{ length: index.chunks[j] as number }]).map((d) => d.length);
    for (const [k, p] of parts.entries())
      if (p.length !== lengths.length || p.some((d, i) => d.length !== lengths[i]))
        throw storeCorrupt(dataset, `column ${(wanted[k] as { i: number }).i}, chunk ${j}`);
    for (const [i, length] of lengths.entries()) {
      batches.push({
        length,
        columns: index.schema.map((_, c) => {
          const k = wanted.findIndex((w) => w.i === c);
          return k < 0 ? makeData({ type: new Null(), length }) : ((parts[k] as Data[])[i] as Data);
        }),
      });
    }
  }
  const table = tableFromBatches(
    index.schema.map((c) => c.name),
    index.schema.map((c) => ({ type: c.type as ColumnType })),
    batches,
    arrowTypes,
  );
  const rows = batches.reduce((n, b) => n + b.length, 0);
  return { table, schema: opts.schema, rows };
}

/** A reusable read buffer (grown as needed), and whether a read may take it. */
interface Scratch {
  bytes: Buffer;
  free: boolean;
}

// A few, since reads of concurrent jobs interleave at their awaits; each as large as the
// largest sealed chunk read so far (about 1 MiB a column chunk).
const scratches: Scratch[] = [];

function takeScratch(): Scratch {
  let scratch = scratches.find((s) => s.free);
  if (!scratch) {
    scratch = { bytes: Buffer.alloc(0), free: false };
    if (scratches.length < 4) scratches.push(scratch);
  }
  scratch.free = false;
  return scratch;
}

/** `length` bytes of `file` from `offset`, read into `scratch` (grown when too small); shorter when the file is. */
async function readRange(
  file: FileHandle,
  offset: number,
  length: number,
  scratch: Scratch,
): Promise<Buffer> {
  if (scratch.bytes.length < length)
    scratch.bytes = Buffer.allocUnsafe(Math.max(length, 2 * scratch.bytes.length));
  const out = scratch.bytes;
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(out, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return out.subarray(0, got);
}
