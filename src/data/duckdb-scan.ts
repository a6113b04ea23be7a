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
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import {
  type ChunkedRows,
  isChunkedRows,
  type RowBatch,
  type RowPass,
  type RowRange,
} from './chunked-rows.ts';
import { scannableColumnType } from './columns.ts';
import { type LoadOptions, type PickedColumn, pickColumns } from './duckdb-load.ts';
import { duckdbType, quoteIdent } from './duckdb-types.ts';
import { fillVector, type Scratch, vectorScratch, wipeScratch } from './duckdb-vectors.ts';
import type { ParsedDataset } from './schema.ts';

/** What a view scans: the dataset, the columns it hands over, its reused buffers. */
interface ScanSource {
  viewName: string;
  parsed: ParsedDataset | ChunkedRows;
  /** Passes over chunked rows not yet ended (ended when the connection goes). */
  passes: Set<RowPass>;
  /** The data-free error a pass threw (a damaged store), for the statement's failure. */
  failure?: ObscuraError;
  picked: PickedColumn[];
  rowId: string | undefined;
  /** The rows scanned: all, or a range (a split job's half); row ids count from the dataset's first row. */
  from: number;
  to: number;
  scratch: Scratch;
  /** Row ids as int64 written as two little-endian 32-bit halves (x64 and arm64 both are). */
  ids: Uint32Array;
}

/** Where a scan is: the batch, the row in it, the next row id, and the columns asked for. */
interface ScanState {
  source: ScanSource;
  /** Batches of a parsed dataset taken so far. */
  taken: number;
  /** The pass over chunked rows (opened at the first vector). */
  pass?: RowPass;
  batch: RowBatch | undefined;
  /** The row number (in the dataset) of the batch's first row. */
  at: number;
  done: boolean;
  /** The next row of the batch to hand over, and the end of the rows handed over of it. */
  row: number;
  end: number;
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
 * query scans is data-free. With `range`, the view holds those rows only, in order (their
 * row ids still count from the dataset's first row), and chunked rows read only the
 * chunks holding them.
 */
export async function scanIntoDuckDB(
  connection: DuckDBConnection,
  viewName: string,
  parsed: ParsedDataset | ChunkedRows,
  columns?: readonly string[],
  opts: LoadOptions & { range?: RowRange } = {},
): Promise<void> {
  const picked = pickColumns(parsed, columns, opts.rowIdColumn);
  const rowId = opts.rowIdColumn;
  // Checked before any query, as the appender load does, so a bad table fails at load
  // (chunked rows are checked by their producer as each chunk is read).
  const batches = isChunkedRows(parsed) ? [] : parsed.table.batches;
  for (const batch of batches) {
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
    passes: new Set(),
    picked,
    rowId,
    from: Math.max(0, opts.range?.from ?? 0),
    to: Math.min(parsed.rows, opts.range?.to ?? parsed.rows),
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
  for (const token of tokensOf.get(connection) ?? []) {
    const source = sources.get(token);
    for (const pass of source?.passes ?? []) pass.close();
    if (source) wipeScratch(source.scratch);
    sources.delete(token);
  }
  tokensOf.delete(connection);
}

/**
 * End the scans on `connection` of rows read a chunk at a time, reading what a scan that
 * stopped early left unread (RowPass.rest); returns the data-free error one of them
 * stopped on, if any (scanFailure). A run calls this when it ends, failed or not, and
 * fails with that error first: so a damaged store fails a job the same way wherever its
 * queries stopped and whatever else failed.
 */
export function finishScans(connection: DuckDBConnection): ObscuraError | undefined {
  for (const token of tokensOf.get(connection) ?? []) {
    const source = sources.get(token);
    if (!source) continue;
    for (const pass of source.passes) {
      try {
        if (!source.failure) pass.rest();
      } catch (e) {
        if (isObscuraError(e)) source.failure ??= e;
      }
      pass.close();
    }
    source.passes.clear();
  }
  return scanFailure(connection);
}

/**
 * The data-free error a scan on `connection` stopped on (a damaged store), if any: the
 * statement fails with it rather than with DuckDB's report of the scan's failure.
 */
export function scanFailure(connection: DuckDBConnection): ObscuraError | undefined {
  for (const token of tokensOf.get(connection) ?? []) {
    const failure = sources.get(token)?.failure;
    if (failure) return failure;
  }
  return undefined;
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
      bind.setCardinality(Math.max(0, source.to - source.from), true);
    },
    initFunction: (init) => {
      init.setMaxThreads(1);
      const projected = init.getColumnIndexes();
      const source = init.getBindData() as ScanSource;
      const state: ScanState = {
        source,
        taken: 0,
        batch: undefined,
        at: 0,
        done: false,
        row: 0,
        end: 0,
        nextId: source.from,
        projected,
        dirty: projected.map(() => false),
      };
      init.setInitData(state);
    },
    mainFunction: (info, output) => {
      const state = info.getInitData() as ScanState;
      try {
        scanVector(state, output);
      } catch (e) {
        if (isObscuraError(e)) state.source.failure ??= e;
        endPass(state);
        info.setError(`scanning ${JSON.stringify(state.source.viewName)} failed`);
      }
    },
  });
  return scanFunction;
}

/**
 * The scan's batch with rows of its range left (state.row to state.end), the next one when
 * it has none (undefined at the end): batches before the range are passed over, the
 * range's first and last batches handed over in part.
 */
function currentBatch(state: ScanState): RowBatch | undefined {
  const { parsed, from, to } = state.source;
  while (!state.done && (!state.batch || state.row >= state.end)) {
    if (state.batch) state.at += state.batch.length;
    state.batch = undefined;
    if (state.at >= to) {
      endPass(state);
      break;
    }
    if (isChunkedRows(parsed)) {
      if (!state.pass) {
        state.pass = parsed.open(from > 0 || to < parsed.rows ? { from, to } : undefined);
        state.source.passes.add(state.pass);
        state.at = state.pass.first;
      }
      state.batch = state.pass.next();
    } else {
      const batch = parsed.table.batches[state.taken++];
      state.batch = batch && { length: batch.numRows, columns: batch.data.children };
    }
    if (!state.batch) {
      endPass(state);
      break;
    }
    state.row = Math.max(0, from - state.at);
    state.end = Math.min(state.batch.length, to - state.at);
  }
  return state.done ? undefined : state.batch;
}

/** The scan is over (or failed): its pass, if any, lets its memory and files go. */
function endPass(state: ScanState): void {
  state.done = true;
  state.batch = undefined;
  if (!state.pass) return;
  state.pass.close();
  state.source.passes.delete(state.pass);
  state.pass = undefined;
}

/** Fill `output` with the scan's next vector of rows (none at the end). */
function scanVector(state: ScanState, output: DuckDBDataChunk): void {
  const { picked, scratch, ids } = state.source;
  const size = duckdb.vector_size();
  const batch = currentBatch(state);
  if (!batch) {
    output.rowCount = 0;
    return;
  }
  const n = Math.min(size, state.end - state.row);
  state.projected.forEach((p, j) => {
    const vector = duckdb.data_chunk_get_vector(output.chunk, j);
    const c = picked[p];
    if (!c) {
      // A BigInt per row would cost more than the rest of the scan; a division per row
      // too (~10 ns a row, measured): the halves are split once a vector, and per row
      // only when the low half wraps within it.
      const from = state.nextId;
      const lo = from % 0x1_0000_0000;
      const hi = Math.floor(from / 0x1_0000_0000);
      if (lo + n <= 0x1_0000_0000) {
        for (let i = 0; i < n; i++) {
          ids[2 * i] = lo + i;
          ids[2 * i + 1] = hi;
        }
      } else {
        for (let i = 0; i < n; i++) {
          const id = from + i;
          ids[2 * i] = id % 0x1_0000_0000;
          ids[2 * i + 1] = Math.floor(id / 0x1_0000_0000);
        }
      }
      duckdb.copy_data_to_vector(vector, 0, ids.buffer as ArrayBuffer, 0, n * 8);
      return;
    }
    const data = batch.columns[c.index] as Data;
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
