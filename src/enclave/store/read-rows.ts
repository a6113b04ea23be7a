/**
 * A store's columns as rows a DuckDB scan reads a chunk at a time (data/chunked-rows.ts):
 * each pass decrypts the chunks of the columns a job reads in order, on the store's
 * threads a few chunks ahead of the scan (decrypt-stream.ts), each checked against its
 * place as readStore checks it. Nothing is read until a query scans; a damaged chunk fails
 * the scan with the same store_corrupt readStore throws, naming only the place.
 */
import { join } from 'node:path';
import type { Data } from 'apache-arrow';
import type { ChunkedRows, RowBatch, RowPass, RowRange } from '../../data/chunked-rows.ts';
import { scannableColumnType } from '../../data/columns.ts';
import { streamChunks } from './decrypt-stream.ts';
import { chunkPlace, decodeChunk, type WantedColumn, wantedColumns } from './chunk-places.ts';
import { type StoreIndex, storeCorrupt } from './format.ts';
import { storeKey } from './keys.ts';
import { type ReadStoreOptions, THREADS_FROM_BYTES } from './read.ts';

/**
 * The columns `opts.columns` (every column when omitted) of the store at `dir` as chunked
 * rows. Throws store_corrupt at once when the store's schema is not `opts.schema` or its
 * index lacks a column's chunks; a chunk's damage is found when a pass reaches it.
 */
export function storeRows(dir: string, index: StoreIndex, opts: ReadStoreOptions): ChunkedRows {
  const { dataset } = opts;
  const wanted = wantedColumns(index, dataset, opts.schema, opts.columns);
  let sealedBytes = 0;
  const groups = index.chunks.map((_, j) =>
    wanted.map((col, file) => {
      const place = chunkPlace(index, dataset, col, j);
      sealedBytes += place.length;
      return { file, ...place };
    }),
  );
  const threaded = opts.threads ?? sealedBytes >= THREADS_FROM_BYTES;
  const paths = wanted.map((c) => join(dir, `c${c.i}`));
  return {
    kind: 'chunked',
    schema: opts.schema,
    rows: index.rows,
    valueBytes(name) {
      // The sealed bytes bound a column's string values, less its offsets (4 bytes a row)
      // when its chunks are plain strings; a dictionary column's (1 byte a row) come to 0.
      const i = index.schema.findIndex((c) => c.name === name);
      const sealed = (index.extents[i] ?? []).reduce((n, [, length]) => n + length, 0);
      return Math.max(0, sealed - 4 * index.rows);
    },
    open(range?: RowRange): RowPass {
      // A range reads the chunks holding its rows only (a split job's half, pipelines/split.ts).
      const { first, from, to } = chunksOf(index.chunks, range);
      const key = storeKey(opts.ageIdentity, index.manifestHash);
      let stream: ReturnType<typeof streamChunks>;
      try {
        stream = streamChunks(key, paths, groups.slice(from, to), threaded);
      } catch (e) {
        const file = (e as { file?: number }).file ?? 0;
        throw storeCorrupt(dataset, `column ${(wanted[file] as { i: number }).i}`);
      } finally {
        key.fill(0);
      }
      let j = from;
      let parts: RowBatch[] = [];
      return {
        first,
        next() {
          while (parts.length === 0) {
            const taken = stream.take();
            if (!taken) return undefined;
            parts = chunkParts(index, opts, wanted, j++, taken);
          }
          return parts.shift();
        },
        rest() {
          parts = [];
          for (let taken = stream.take(); taken; taken = stream.take())
            chunkParts(index, opts, wanted, j++, taken);
        },
        close() {
          parts = [];
          stream.close();
        },
      };
    },
  };
}

/**
 * The chunks `from` to `to` (exclusive) that hold the rows of `range` (all without one),
 * and the row number `first` of chunk `from`'s first row.
 */
function chunksOf(
  chunks: readonly number[],
  range: RowRange | undefined,
): { first: number; from: number; to: number } {
  if (!range) return { first: 0, from: 0, to: chunks.length };
  let first = 0;
  let from = 0;
  while (from < chunks.length && first + (chunks[from] as number) <= range.from)
    first += chunks[from++] as number;
  let to = from;
  for (let at = first; to < chunks.length && at < range.to; to++) at += chunks[to] as number;
  return { first, from, to };
}

/**
 * Chunk `j`'s batches (one per part: a chunk written from streamed pieces has several),
 * its columns read from their plaintexts, each checked: rows, name, type, parts alike.
 */
function chunkParts(
  index: StoreIndex,
  opts: ReadStoreOptions,
  wanted: readonly WantedColumn[],
  j: number,
  taken: { plains: Uint8Array[] } | { failed: number },
): RowBatch[] {
  const { dataset } = opts;
  const corrupt = (k: number) =>
    storeCorrupt(dataset, `column ${(wanted[k] as { i: number }).i}, chunk ${j}`);
  if ('failed' in taken) throw corrupt(taken.failed);
  const perColumn: Data[][] = [];
  for (const [k, col] of wanted.entries()) {
    const datas = decodeChunk(taken.plains[k] as Uint8Array, index, dataset, col, j);
    if (datas.some((d) => scannableColumnType(d.type) !== col.type)) throw corrupt(k);
    perColumn.push(datas);
  }
  const lengths = (perColumn[0] ?? [{ length: index.chunks[j] as number }]).map((d) => d.length);
  for (const [k, datas] of perColumn.entries())
    if (datas.length !== lengths.length || datas.some((d, p) => d.length !== lengths[p])) throw corrupt(k);
  return lengths.map((length, p) => {
    const columns: (Data | undefined)[] = index.schema.map(() => undefined);
    for (const [k, col] of wanted.entries()) columns[col.i] = (perColumn[k] as Data[])[p];
    return { length, columns };
  });
}
