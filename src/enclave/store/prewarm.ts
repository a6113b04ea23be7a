/**
 * Filling the warm cache at ingest (data/duckdb-warm.ts): the enclave has just checked an
 * upload and written its store, and holds the parsed dataset; copying every column into
 * the cache now makes even the first job over it warm. Only into room the cache has free
 * (an upload that may never be read does not push out datasets jobs use), off the
 * upload's reply (the copy runs after the index is read), and a failure is ignored: a job
 * then reads the store, as without a cache.
 */
import type { SealedInput } from '../../contracts/enclave-protocol.ts';
import { type WarmInput, warmIntoDuckDB, withDuckDB } from '../../data/index.ts';
import { type JobLimits, jobDuckdbMemory } from '../../pipelines/limits.ts';
import type { OpenContext, OpenedDataset } from '../datasets.ts';
import { warmCacheBytes } from '../warm-cache.ts';
import { storeWarmKey } from './open.ts';
import { readStoreIndex, storePathFor } from './read.ts';

/**
 * Start copying a dataset just stored into the warm cache. Resolves once the store's index
 * is read (its key), with `filled`: whether the copy went in (never rejects).
 */
export async function prewarm(
  input: SealedInput,
  opened: OpenedDataset,
  ctx: OpenContext & { limits: JobLimits },
): Promise<{ filled: Promise<boolean> }> {
  const maxBytes = warmCacheBytes(ctx.limits);
  const none = { filled: Promise.resolve(false) };
  if (maxBytes <= 0) return none;
  let key: string;
  try {
    const dir = storePathFor(input.blobPath, opened.manifestHash);
    const index = await readStoreIndex(dir, input.datasetId, opened.manifestHash, ctx.ageIdentity);
    if (!index || index.rows !== opened.data.rows) return none;
    key = storeWarmKey(opened.manifestHash, index);
  } catch {
    return none;
  }
  const data = opened.data;
  const source: WarmInput = {
    kind: 'warm',
    key,
    schema: data.schema,
    rows: data.rows,
    data,
    read: async () => data,
  };
  const columns = data.schema.map((c) => c.name);
  const filled = withDuckDB(
    (connection) => warmIntoDuckDB(connection, 'prewarm', source, columns, { maxBytes, evict: false }),
    // The jobs' configuration (pipelines/run.ts), so that their database holds it: one
    // thread, which every job may use; the next job uses it, whatever its threads (data/duckdb.ts).
    { memoryLimit: jobDuckdbMemory(ctx.limits.memoryBytes), ingest: true },
  ).then(
    (how) => how === 'filled',
    () => false,
  );
  return { filled };
}
