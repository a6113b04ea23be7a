/**
 * Loading a normalised Arrow table into DuckDB without SQL and without DuckDB's Arrow
 * extension (which would be downloaded): Arrow buffers are copied straight into DuckDB
 * data chunks (2,048 rows each) and handed to an appender. Fixed-width columns are one
 * memcpy per chunk, validity bitmaps too (Arrow's and DuckDB's share the LSB-first bit
 * layout); strings of up to 12 bytes are written in DuckDB's inline `string_t` form
 * (4-byte length + bytes, zero-padded to 16) in bulk, longer ones one call each.
 *
 * Uses the thin binding package `@duckdb/node-bindings` (the layer @duckdb/node-api wraps)
 * for the raw vector copies; the typed wrapper has no bulk path.
 */
import { type DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { Data } from 'apache-arrow';
import { ObscuraError } from '../common/errors.ts';
import { scannableColumnType } from './columns.ts';
import { duckdbType, duckdbTypeName, quoteIdent } from './duckdb-types.ts';
import { fillVector, vectorScratch, wipeScratch } from './duckdb-vectors.ts';
import type { ColumnType, ParsedDataset } from './schema.ts';

/** Options of loadIntoDuckDB. */
export interface LoadOptions {
  /**
   * Also create this BIGINT column, last, holding each row's number (0, 1, 2, … in
   * dataset order): a row id the pipelines use to count distinct input rows after joins.
   * DuckDB's own `rowid` cannot serve, as a dataset column named `rowid` hides it.
   */
  rowIdColumn?: string;
}

/** A column a load or scan hands DuckDB: its name, its index in the dataset, its type. */
export interface PickedColumn {
  name: string;
  index: number;
  type: ColumnType;
}

/**
 * The dataset's columns — or only `columns`, in that order — as loadIntoDuckDB and
 * scanIntoDuckDB hand them over; throws 'dataset_invalid' for a column the dataset lacks
 * or a row id column that repeats one of them.
 */
export function pickColumns(
  parsed: Pick<ParsedDataset, 'schema'>,
  columns: readonly string[] | undefined,
  rowId: string | undefined,
): PickedColumn[] {
  const wanted = columns ?? parsed.schema.map((c) => c.name);
  const picked = wanted.map((name) => {
    const index = parsed.schema.findIndex((c) => c.name === name);
    if (index < 0)
      throw new ObscuraError('dataset_invalid', `dataset has no column ${JSON.stringify(name)}`, 422, {
        column: name,
      });
    return { name, index, type: (parsed.schema[index] as { type: ColumnType }).type };
  });
  if (rowId !== undefined && picked.some((c) => c.name.toLowerCase() === rowId.toLowerCase())) {
    throw new ObscuraError(
      'dataset_invalid',
      `row id column ${JSON.stringify(rowId)} repeats a dataset column`,
      422,
      { column: rowId },
    );
  }
  return picked;
}

/**
 * Create table `tableName` (quoted, so any name is safe) with the dataset's columns — or
 * only `columns`, in that order — and append every row. Throws ObscuraError
 * 'dataset_invalid' for a column the dataset lacks and 'dataset_load_failed' (500) when
 * DuckDB refuses the data (the message never carries values).
 */
export async function loadIntoDuckDB(
  connection: DuckDBConnection,
  tableName: string,
  parsed: ParsedDataset,
  columns?: readonly string[],
  opts: LoadOptions = {},
): Promise<void> {
  const picked = pickColumns(parsed, columns, opts.rowIdColumn);
  const rowId = opts.rowIdColumn;
  const ddl = picked.map((c) => `${quoteIdent(c.name)} ${duckdbTypeName(c.type)}`);
  if (rowId !== undefined) ddl.push(`${quoteIdent(rowId)} BIGINT`);
  await connection.run(`CREATE TABLE ${quoteIdent(tableName)} (${ddl.join(', ')})`);
  if (ddl.length === 0) return;
  const appender = await connection.createAppender(tableName);
  const scratch = vectorScratch(duckdb.vector_size());
  try {
    const chunk = DuckDBDataChunk.create([
      ...picked.map((c) => duckdbType(c.type)),
      ...(rowId !== undefined ? [duckdbType('int64')] : []),
    ]);
    const size = duckdb.vector_size();
    const ids = new BigInt64Array(size);
    let nextId = 0n;
    for (const batch of parsed.table.batches) {
      const datas = picked.map((c) => {
        const data = batch.data.children[c.index] as Data;
        if (scannableColumnType(data.type) !== c.type) {
          throw new ObscuraError(
            'dataset_invalid',
            `column ${JSON.stringify(c.name)} is not stored as a normalised ${c.type} column`,
            422,
            { column: c.name },
          );
        }
        return data;
      });
      for (let r = 0; r < batch.numRows; r += size) {
        const n = Math.min(size, batch.numRows - r);
        chunk.reset();
        chunk.rowCount = n;
        picked.forEach((c, j) => {
          const vector = duckdb.data_chunk_get_vector(chunk.chunk, j);
          fillVector(vector, c.type, datas[j] as Data, r, n, scratch);
        });
        if (rowId !== undefined) {
          for (let i = 0; i < n; i++) ids[i] = nextId++;
          duckdb.copy_data_to_vector(
            duckdb.data_chunk_get_vector(chunk.chunk, picked.length),
            0,
            ids.buffer as ArrayBuffer,
            0,
            n * 8,
          );
        }
        appender.appendDataChunk(chunk);
      }
    }
    appender.closeSync();
  } catch (e) {
    if (e instanceof ObscuraError) throw e;
    throw new ObscuraError(
      'dataset_load_failed',
      `loading table ${JSON.stringify(tableName)} into DuckDB failed`,
      500,
    );
  } finally {
    wipeScratch(scratch);
  }
}
