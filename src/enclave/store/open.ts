/**
 * Datasets from the store in jobs: a dataset with a store is read from it — only the
 * columns the job reads, no decryption of the sealed upload, no CSV parse; one without is
 * opened from its sealed upload as before and, having been checked against its manifest,
 * gets its store written then (datasets uploaded before the store existed are converted at
 * first use). Writing a store is an optimisation: when it fails (a full disk), the job
 * goes on and the next one reads the sealed upload again.
 */
import { Table } from 'apache-arrow';
import { canonicalJson, sha256Hex } from '../../common/hash.ts';
import { manifestHash } from '../../crypto/manifest.ts';
import type { SealedInput } from '../../contracts/enclave-protocol.ts';
import { assertInputAccepted, type OpenContext, type OpenedDataset } from '../datasets.ts';
import { isWarm, type ParsedDataset, type WarmInput, warmKey } from '../../data/index.ts';
import type { StoreIndex } from './format.ts';
import { type ReadStoreOptions, readStore, readStoreIndex, readStorePieces, storePathFor } from './read.ts';
import { storeRows } from './read-rows.ts';
import { writeStore, writeStoreFrom } from './write.ts';

/**
 * The dataset from its store with just `columns`, or undefined when it has none. Throws
 * store_corrupt. With `warm`, the job may read it from the warm cache
 * (data/duckdb-warm.ts): `source` is set, and when the cache holds those columns the read
 * is left to the runner (which reads the store only if its database misses after all) and
 * `data` holds no rows, only the schema and row count; when it does not, the same, the
 * runner reading the store as DuckDB scans it (`source.chunked`), so a damaged chunk is
 * found then. The index is read and checked either way, so a store that is gone or
 * replaced is never answered from the cache.
 */
export async function openFromStore(
  input: SealedInput,
  ctx: OpenContext,
  columns: readonly string[],
  opts: { warm?: boolean } = {},
): Promise<(OpenedDataset & { source?: WarmInput }) | undefined> {
  // The owner's terms hold for the store as for the upload: the store's key comes from this
  // worker's identity, which an authorised hand-over gives to new code, and that code may
  // read only what the owner's manifest accepts its measurement for.
  assertInputAccepted(input, ctx);
  const { manifest } = input.manifest;
  const hash = manifestHash(manifest);
  const dir = storePathFor(input.blobPath, hash);
  const index = await readStoreIndex(dir, input.datasetId, hash, ctx.ageIdentity);
  if (!index) return undefined;
  if (index.rows !== manifest.rows) return undefined;
  const source = storeSource(dir, index, hash, {
    dataset: input.datasetId,
    ageIdentity: ctx.ageIdentity,
    schema: manifest.schema,
    columns,
  });
  const opened = { datasetId: input.datasetId, manifest: input.manifest, manifestHash: hash };
  if (!opts.warm) return { ...opened, data: await source.read() };
  // No rows here: the runner reads them from the cache when it holds these columns (and the
  // store only if its database misses after all); otherwise DuckDB reads them as it copies
  // them into the cache (or scans them), a chunk at a time, decrypted meanwhile
  // (read-rows.ts), and a job that wants them whole (a model) reads them through `read`.
  const data = { table: new Table(), schema: manifest.schema, rows: manifest.rows };
  if (!isWarm(source.key, columns)) return { ...opened, data, source };
  // Cached: no chunked read, so the runner reads the store only through `read`, if at all.
  const { chunked: _cached, ...cached } = source;
  return { ...opened, data, source: cached };
}

/**
 * The store in `dir` (its checked `index`, of the manifest hashed `hash`) as a warm-cache
 * input of `opts.columns`: its key, and its columns read whole (`read`) or a chunk at a time
 * as DuckDB scans them (`chunked`). The benches build their inputs with it too, so that they
 * read the store as jobs do.
 */
export function storeSource(
  dir: string,
  index: StoreIndex,
  hash: string,
  opts: ReadStoreOptions,
): WarmInput & { chunked: NonNullable<WarmInput['chunked']> } {
  return {
    kind: 'warm',
    key: storeWarmKey(hash, index),
    schema: opts.schema,
    rows: index.rows,
    read: () => readStore(dir, index, opts),
    chunked: () => storeRows(dir, index, opts),
  };
}

/** The warm cache's key of a store: the index names every chunk's place and size, so the same digest is the same stored rows. */
export function storeWarmKey(hash: string, index: StoreIndex): string {
  return warmKey(hash, sha256Hex(canonicalJson(index)));
}

/**
 * Whether a job over a dataset too large to parse whole (stream-job.ts) reads its store in
 * one DuckDB query instead of in pieces: whenever it has one (and its index is the
 * manifest's), since the query reads the store a chunk at a time as DuckDB scans it
 * (read-rows.ts), a few chunks in memory whatever the dataset's size, and DuckDB
 * aggregates it once where pieces merge partial aggregates (measured at 10M rows, 3
 * columns, load 11: 1.26 s wall, 0.78 CPU s, against 2.38 and 1.03 in pieces). The columns
 * are copied into the warm cache when they fit it, as for any job. False without a store.
 * Throws what openFromStore throws for the owner's terms and index.
 */
export async function storeReadsWhole(input: SealedInput, ctx: OpenContext): Promise<boolean> {
  assertInputAccepted(input, ctx);
  const { manifest } = input.manifest;
  const hash = manifestHash(manifest);
  const index = await readStoreIndex(
    storePathFor(input.blobPath, hash),
    input.datasetId,
    hash,
    ctx.ageIdentity,
  );
  return index !== undefined && index.rows === manifest.rows;
}

/** Write the store of a dataset just opened and checked from its sealed upload; failures are ignored. */
export async function keepStore(
  input: SealedInput,
  opened: OpenedDataset,
  ctx: OpenContext,
): Promise<boolean> {
  try {
    await writeStore(
      storePathFor(input.blobPath, opened.manifestHash),
      opened.data,
      opened.manifestHash,
      ctx.ageIdentity,
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * The dataset from its store as pieces of about `rowsPerPiece` rows with just `columns`
 * (for a job streaming a dataset larger than memory), or undefined when it has none.
 * Throws store_corrupt (the index at once, a chunk when its piece is read).
 */
export async function openStorePieces(
  input: SealedInput,
  ctx: OpenContext,
  columns: readonly string[],
  rowsPerPiece: number,
): Promise<AsyncGenerator<ParsedDataset> | undefined> {
  assertInputAccepted(input, ctx);
  const { manifest } = input.manifest;
  const hash = manifestHash(manifest);
  const dir = storePathFor(input.blobPath, hash);
  const index = await readStoreIndex(dir, input.datasetId, hash, ctx.ageIdentity);
  if (!index || index.rows !== manifest.rows) return undefined;
  return readStorePieces(
    dir,
    index,
    { dataset: input.datasetId, ageIdentity: ctx.ageIdentity, schema: manifest.schema, columns },
    rowsPerPiece,
  );
}

/**
 * Write the store of a dataset streamed for being larger than memory from its checked
 * pieces as they come. Errors of `pieces` (the stream's checks) are thrown and leave no
 * store; a failure to write is ignored (false), as for keepStore.
 */
export async function keepStoreFrom(
  input: SealedInput,
  ctx: OpenContext,
  pieces: AsyncIterable<ParsedDataset>,
): Promise<boolean> {
  const { manifest } = input.manifest;
  const hash = manifestHash(manifest);
  const result = await writeStoreFrom(
    storePathFor(input.blobPath, hash),
    { schema: manifest.schema, rows: manifest.rows },
    pieces,
    hash,
    ctx.ageIdentity,
  );
  return result === 'written';
}
