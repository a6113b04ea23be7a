/**
 * A dataset handed to DuckDB a chunk at a time, each chunk's columns produced only when the
 * scan reaches it (data/duckdb-scan.ts): the enclave's store decrypts a chunk while DuckDB
 * works on the one before (enclave/store/read.ts storeRows), so a job never holds its
 * whole columns in memory. A pass gives batches in order; a batch's columns are valid only
 * until the next one is asked for (their memory is reused).
 */
import type { Data } from 'apache-arrow';
import type { DatasetSchema } from './schema.ts';

/** One batch of a pass: its rows, and per schema column its Data (undefined for a column not read). */
export interface RowBatch {
  length: number;
  columns: readonly (Data | undefined)[];
}

/** A pass over the rows. */
export interface RowPass {
  /**
   * The row number of its first batch's first row: 0, or for a pass opened over a range, the
   * start of the stored chunk that holds the range's first row (at most `from`).
   */
  readonly first: number;
  /**
   * The next batch, or undefined after the last. Each column read is in its normalised type
   * (scannableColumnType) and `length` rows long. Throws a data-free error (a damaged store).
   */
  next(): RowBatch | undefined;
  /**
   * Read what is left of the pass, checking it, and drop it: for a scan that stopped early
   * (a LIMIT, a failure), since what a job reads of its inputs, so whether it finds a
   * damaged chunk, must not depend on where its query stopped. Throws what `next` throws.
   */
  rest(): void;
  /** End the pass early (or after its last batch): its memory and files are let go. */
  close(): void;
}

/** Rows `from` (inclusive) to `to` (exclusive), counted from 0 in the dataset's order. */
export interface RowRange {
  from: number;
  to: number;
}

/** Rows read a chunk at a time, as many passes as the query makes. */
export interface ChunkedRows {
  readonly kind: 'chunked';
  schema: DatasetSchema;
  rows: number;
  /**
   * About how many bytes of string values column `name` holds (for a memory estimate made
   * before anything is read, from the sizes alone: not a count).
   */
  valueBytes(name: string): number;
  /**
   * Start a pass; may throw what `next` throws. With a range, the pass reads only the stored
   * chunks holding rows `from` to `to` (exclusive): it may start before `from` (RowPass.first)
   * and end after `to`, and its reader skips those rows.
   */
  open(range?: RowRange): RowPass;
}

/** Whether `x` is a ChunkedRows. */
export function isChunkedRows(x: unknown): x is ChunkedRows {
  return typeof x === 'object' && x !== null && (x as ChunkedRows).kind === 'chunked';
}
