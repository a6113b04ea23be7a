/**
 * A dataset in DuckDB without copying it into a table: a view over a table function that
 * hands DuckDB the dataset's Arrow buffers a vector (2,048 rows) at a time, only the
 * columns a query reads (projection pushdown). Loading the same columns through the
 * appender (duckdb-load.ts) costs DuckDB a second copy of the data in its own storage
 * (measured at 1M rows, 3 columns: appender load + query 0.15 CPU s, scan + query 0.06);
 * a scan costs nothing until a query runs, and a query that reads the input twice scans
 * it twice. The scan runs on one thread in row order, so results and row ids come out the
 * same on every run.
 *
 * The table function calls back into JavaScript from DuckDB's thread, so a query over a
 * scanned view must be run with the async API (a synchronous call would wait on the thread
 * the callback needs).
 */
import { randomUUID } from 'node:crypto';
import { type DuckDBConnection, type DuckDBDataChunk, DuckDBTableFunction, VARCHAR } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { Data } from 'apache-arrow';
import { ObscuraError } from '../common/errors.ts';
import { scannableColumnType } from './columns.ts';
import { type LoadOptions, type PickedColumn, pickColumns } from './duckdb-load.ts';
import { duckdbType, quoteIdent } from './duckdb-types.ts';
import { fillVector, type Scratch, vectorScratch } from './duckdb-vectors.ts';
import type { ParsedDataset } from './schema.ts';

/** What a view scans: the dataset, the columns it hands over, its reused buffers. */
interface ScanSource {
  viewName: string;
  parsed: ParsedDataset;
  picked: PickedColumn[];
  rowId: string | undefined;
  scratch: Scratch;
  /** Row ids as int64 written as two little-endian 32-bit halves (x64 and arm64 both are). */
  ids: Uint32Array;
}

/** Where a scan is: the batch, the row in it, the next row id, and the columns asked for. */
interface ScanState {
  source: ScanSource;
  batch: number;
  row: number;
  nextId: number;
  projected: number[];
  /** Per projected column: validity written by an earlier vector (so it must be reset). */
  dirty: boolean[];
}

// Scans by token. One table function serves every view: a function per view would be a
// catalog entry holding its dataset for as long as the database lives, and the databases
// are kept warm between jobs (duckdb.ts). A token is random and dropped with its connection
// (releaseScans), so a view names only its own job's data, and only while that job runs.
const sources = new Map<string, ScanSource>();
const tokensOf = new WeakMap<DuckDBConnection, string[]>();
let scanFunction: DuckDBTableFunction | undefined;

/**
 * Create view `viewName` over the dataset's columns — or only `columns`, in that order —
 * (plus the row id column of LoadOptions, last), as a temporary view: it is dropped with
 * the connection. Same contract and errors as loadIntoDuckDB: 'dataset_invalid' for a
 * column the dataset lacks or one not stored in its normalised type; a failure while a
 * query scans is data-free.
 */
export async function scanIntoDuckDB(
  connection: DuckDBConnection,
  viewName: string,
  parsed: ParsedDataset,
  columns?: readonly string[],
  opts: LoadOptions = {},
): Promise<void> {
  const picked = pickColumns(parsed, columns, opts.rowIdColumn);
  const rowId = opts.rowIdColumn;
  // Checked before any query, as the appender load does, so a bad table fails at load.
  for (const batch of parsed.table.batches) {
    for (const c of picked) {
      const data = batch.data.children[c.index];
      if (!data || scannableColumnType(data.type) !== c.type) {
        throw new ObscuraError(
          'dataset_invalid',
          `column ${JSON.stringify(c.name)} is not stored as a normalised ${c.type} column`,
          422,
          { column: c.name },
        );
      }
    }
  }
  if (picked.length === 0 && rowId === undefined) {
    // A table with no columns cannot be a view over a scan; an empty table reads the same.
    await connection.run(`CREATE TEMP TABLE ${quoteIdent(viewName)} ()`);
    return;
  }
  const size = duckdb.vector_size();
  const token = randomUUID();
  sources.set(token, {
    viewName,
    parsed,
    picked,
    rowId,
    scratch: vectorScratch(size),
    ids: new Uint32Array(size * 2),
  });
  let tokens = tokensOf.get(connection);
  if (!tokens) {
    tokens = [];
    tokensOf.set(connection, tokens);
    // Registering again on another connection of the same database replaces the entry.
    connection.registerTableFunction(theScanFunction());
  }
  tokens.push(token);
  await connection.run(
    `CREATE TEMP VIEW ${quoteIdent(viewName)} AS SELECT * FROM ${SCAN_FUNCTION}('${token}')`,
  );
}

/** Forget the scans made on `connection` (duckdb.ts calls this as it closes the connection). */
export function releaseScans(connection: DuckDBConnection): void {
  for (const token of tokensOf.get(connection) ?? []) sources.delete(token);
  tokensOf.delete(connection);
}

const SCAN_FUNCTION = 'obscura_scan';

function theScanFunction(): DuckDBTableFunction {
  scanFunction ??= DuckDBTableFunction.create({
    name: SCAN_FUNCTION,
    parameterTypes: [VARCHAR],
    supportsProjectionPushdown: true,
    bindFunction: (bind) => {
      const source = sources.get(String(bind.getParameter(0)));
      if (!source) {
        bind.setError('no such scan');
        return;
      }
      for (const c of source.picked) bind.addResultColumn(c.name, duckdbType(c.type));
      if (source.rowId !== undefined) bind.addResultColumn(source.rowId, duckdbType('int64'));
      bind.setBindData(source);
      bind.setCardinality(source.parsed.rows, true);
    },
    initFunction: (init) => {
      init.setMaxThreads(1);
      const projected = init.getColumnIndexes();
      const state: ScanState = {
        source: init.getBindData() as ScanSource,
        batch: 0,
        row: 0,
        nextId: 0,
        projected,
        dirty: projected.map(() => false),
      };
      init.setInitData(state);
    },
    mainFunction: (info, output) => {
      const state = info.getInitData() as ScanState;
      try {
        scanVector(state, output);
      } catch {
        info.setError(`scanning ${JSON.stringify(state.source.viewName)} failed`);
      }
    },
  });
  return scanFunction;
}

/** Fill `output` with the scan's next vector of rows (none at the end). */
function scanVector(state: ScanState, output: DuckDBDataChunk): void {
  const { parsed, picked, scratch, ids } = state.source;
  const size = duckdb.vector_size();
  const batches = parsed.table.batches;
  let batch = batches[state.batch];
  while (batch && state.row >= batch.numRows) {
    state.batch++;
    state.row = 0;
    batch = batches[state.batch];
  }
  if (!batch) {
    output.rowCount = 0;
    return;
  }
  const n = Math.min(size, batch.numRows - state.row);
  state.projected.forEach((p, j) => {
    const vector = duckdb.data_chunk_get_vector(output.chunk, j);
    const c = picked[p];
    if (!c) {
      // A BigInt per row would cost more than the rest of the scan.
      for (let i = 0; i < n; i++) {
        const id = state.nextId + i;
        ids[2 * i] = id % 0x1_0000_0000;
        ids[2 * i + 1] = Math.floor(id / 0x1_0000_0000);
      }
      duckdb.copy_data_to_vector(vector, 0, ids.buffer as ArrayBuffer, 0, n * 8);
      return;
    }
    const data = batch.data.children[c.index] as Data;
    const nulls = data.nullCount > 0 && data.nullBitmap !== null && data.nullBitmap !== undefined;
    // DuckDB may hand back the same vector: rows once null must read valid again.
    if (!nulls && state.dirty[j]) {
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(
        vector,
        0,
        scratch.allValid.buffer as ArrayBuffer,
        0,
        Math.ceil(n / 64) * 8,
      );
    }
    if (nulls) state.dirty[j] = true;
    fillVector(vector, c.type, data, state.row, n, scratch);
  });
  output.rowCount = n;
  state.row += n;
  state.nextId += n;
}
