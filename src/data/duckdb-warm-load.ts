/**
 * A job's input through the warm cache (duckdb-warm.ts). When the job's database holds the
 * dataset's columns, the input is a temporary view over that table: no decryption, no
 * scan from JavaScript (measured at 1M rows, 3 columns: the query alone costs DuckDB about
 * a quarter of the cold job's CPU). Otherwise the dataset is read (decrypted from its
 * store) and copied once into a new cached table, as DuckDB would scan it anyway, when it
 * fits the budget; the input is then a view over that. A dataset too large for the budget
 * is scanned as before. The view reads the same rows in the same order either way (DuckDB's
 * rowid of a table filled by one ordered insert is the row's number), so the results are
 * the cold path's bit for bit.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ChunkedRows, isChunkedRows, type RowRange } from './chunked-rows.ts';
import { dropWarm, dropWarmElsewhere } from './duckdb.ts';
import { scanFailure, scanIntoDuckDB } from './duckdb-scan.ts';
import { quoteIdent } from './duckdb-types.ts';
import {
  addWarm,
  connectionInstance,
  findWarm,
  removeWarm,
  warmByAge,
  warmBytes,
  type WarmEntry,
  warmElsewhere,
} from './duckdb-warm.ts';
import type { LoadOptions } from './duckdb-load.ts';
import { type DatasetSchema, FIXED_WIDTH, type ParsedDataset } from './schema.ts';

/**
 * A dataset a job may read from the warm cache: its key (duckdb-warm.ts warmKey), its
 * schema and rows (public, the manifest's), and how to read its columns when the cache
 * misses (or the rows already read, for a job that had to read them).
 */
export interface WarmInput {
  readonly kind: 'warm';
  key: string;
  schema: DatasetSchema;
  rows: number;
  /** The columns read already (a job whose cache missed when it opened its inputs). */
  data?: ParsedDataset;
  /** Read the job's columns (decrypt them from the store). */
  read: () => Promise<ParsedDataset>;
  /**
   * The job's columns as rows read a chunk at a time as DuckDB scans them, for a job that
   * only hands them to DuckDB (copied into the cache, or scanned): the store is decrypted
   * while DuckDB works and its whole columns are never in memory at once.
   */
  chunked?: () => ChunkedRows;
}

/** Whether a pipeline input is a warm-cache input rather than a parsed dataset. */
export function isWarmInput(x: ParsedDataset | WarmInput): x is WarmInput {
  return (x as WarmInput).kind === 'warm';
}

/** The input's rows as a parsed dataset (read when they were not). */
export async function parsedOf(x: ParsedDataset | WarmInput): Promise<ParsedDataset> {
  if (!isWarmInput(x)) return x;
  x.data ??= await x.read();
  return x.data;
}

/** Every input as a parsed dataset (warm inputs read). */
export async function allParsed(
  given: Record<string, ParsedDataset | WarmInput>,
): Promise<Record<string, ParsedDataset>> {
  const out: Record<string, ParsedDataset> = {};
  for (const [name, x] of Object.entries(given)) out[name] = await parsedOf(x);
  return out;
}

/** Bytes DuckDB needs for `rows` rows of these types in an in-memory table (string_t is 16). */
function estimateBytes(
  schema: DatasetSchema,
  columns: readonly string[],
  data: ParsedDataset | ChunkedRows,
): number {
  let heap = 0;
  for (const name of columns) {
    const type = schema.find((c) => c.name === name)?.type;
    // Strings over 12 bytes live in a heap beside the string_t: at most the column's bytes.
    if (type !== 'string') continue;
    if (isChunkedRows(data)) heap += data.valueBytes(name);
    else
      for (const batch of data.table.batches) {
        const child = batch.getChild(name)?.data[0];
        heap += child?.dictionary ? 0 : (child?.values?.byteLength ?? 0);
      }
  }
  return warmBytesAtLeast(schema, columns, data.rows) + heap;
}

/**
 * Bytes `rows` rows of `columns` take at least in a cached table: estimateBytes without the
 * strings' heap, known from the schema alone (pipelines/run.ts asks it before any read).
 */
export function warmBytesAtLeast(schema: DatasetSchema, columns: readonly string[], rows: number): number {
  let perRow = 0;
  for (const name of columns) {
    const type = schema.find((c) => c.name === name)?.type;
    // A string is DuckDB's 16-byte string_t; an unknown type counts as 8.
    perRow += type === 'bool' ? 1 : type === 'string' ? 16 : ((type && FIXED_WIDTH[type]) ?? 8);
  }
  // Validity, one bit per row per column, and DuckDB's row groups' slack.
  return Math.ceil(rows * (perRow + columns.length / 8) * 1.1);
}

/**
 * Create view `viewName` of the input's `columns` (plus the row id column, last) on the
 * connection of a pooled database: over the cached table when there is one, else over a
 * table filled now when `maxBytes` allows (without evicting others when `evict` is false),
 * else over a scan. Returns which. With `range`, the view holds those rows only, in the
 * dataset's order, whichever it is over (a split job's half, pipelines/split.ts): the
 * table's rowid is the row's number in the dataset, as the scan's rows are.
 */
export async function warmIntoDuckDB(
  connection: DuckDBConnection,
  viewName: string,
  input: WarmInput,
  columns: readonly string[],
  opts: LoadOptions & { maxBytes: number; evict?: boolean; range?: RowRange },
): Promise<'warm' | 'filled' | 'scanned'> {
  const instance = connectionInstance(connection);
  const hit = instance ? findWarm(instance, input.key, columns) : undefined;
  if (hit) {
    await viewOver(connection, viewName, hit, columns, opts.rowIdColumn, opts.range);
    return 'warm';
  }
  // Rows read a chunk at a time as the copy reads them, unless the job read them already.
  const data = input.data ?? input.chunked?.() ?? (await parsedOf(input));
  const bytes = estimateBytes(input.schema, columns, data);
  const room = opts.evict === false ? opts.maxBytes - warmBytes() : opts.maxBytes;
  // The cache lives in one database, so that its tables count within the memory limit of
  // the job using it: another database's tables are dropped first (a copy that may not
  // evict, at ingest, is not made beside them).
  const apart = instance !== undefined && warmElsewhere(instance);
  if (!instance || columns.length === 0 || bytes > room || (apart && opts.evict === false)) {
    // Chunked rows too: what a query leaves unread is read when the run ends (finishScans).
    await scanIntoDuckDB(connection, viewName, data, columns, opts);
    return 'scanned';
  }
  if (apart) dropWarmElsewhere(instance);
  if (!(await makeRoom(connection, bytes, opts.maxBytes))) {
    // Only by dropping a table this job reads already: this input is scanned instead.
    await scanIntoDuckDB(connection, viewName, data, columns, opts);
    return 'scanned';
  }
  const table = `obscura_warm_${randomBytes(12).toString('hex')}`;
  const source = `${viewName}__fill`;
  await scanIntoDuckDB(connection, source, data, columns);
  const select = columns.map((c, i) => `${quoteIdent(c)} AS c${i}`).join(', ');
  try {
    // One ordered insert: the table's rowid is then each row's number in the dataset.
    await connection.run(`CREATE TABLE ${table} AS SELECT ${select} FROM ${quoteIdent(source)}`);
  } catch {
    // The table did not fit the database's memory limit (or the job was interrupted, which
    // its next statement reports): the job scans as it would have without a cache. A
    // damaged store fails the job as store_corrupt (data-free: it names the place).
    await connection.run(`DROP TABLE IF EXISTS ${table}`);
    const failure = scanFailure(connection);
    await connection.run(`DROP VIEW ${quoteIdent(source)}`);
    if (failure) throw failure;
    await scanIntoDuckDB(connection, viewName, data, columns, opts);
    return 'scanned';
  }
  await connection.run(`DROP VIEW ${quoteIdent(source)}`);
  const entry: Omit<WarmEntry, 'used'> = {
    key: input.key,
    table,
    columns: [...columns],
    rows: data.rows,
    bytes,
  };
  addWarm(instance, entry);
  await viewOver(connection, viewName, { ...entry, used: 0 }, columns, opts.rowIdColumn, opts.range);
  return 'filled';
}

/**
 * The temporary view of a job's input over a cached table: its columns by name, the row id
 * last, of the rows of `range` only when there is one (rowid is the row's number).
 */
async function viewOver(
  connection: DuckDBConnection,
  viewName: string,
  entry: WarmEntry,
  columns: readonly string[],
  rowId: string | undefined,
  range: RowRange | undefined,
): Promise<void> {
  const cols = columns.map((c) => `c${entry.columns.indexOf(c)} AS ${quoteIdent(c)}`);
  if (rowId !== undefined) cols.push(`rowid AS ${quoteIdent(rowId)}`);
  const tables = viewed.get(connection) ?? new Set<string>();
  tables.add(entry.table);
  viewed.set(connection, tables);
  // Integers the runner computed, not data: safe to inline (DuckDB prunes row groups by them).
  // Only the bounds that cut: a bound at the table's end would still be tested on every row.
  const bounds = [
    ...(range && range.from > 0 ? [`rowid >= ${Math.trunc(range.from)}`] : []),
    ...(range && range.to < entry.rows ? [`rowid < ${Math.trunc(range.to)}`] : []),
  ];
  const where = bounds.length ? ` WHERE ${bounds.join(' AND ')}` : '';
  await connection.run(
    `CREATE TEMP VIEW ${quoteIdent(viewName)} AS SELECT ${cols.join(', ')} FROM ${entry.table}${where}`,
  );
}

// The cached tables each connection's views read: never dropped while that job runs (its
// next statement would fail), so a job over two inputs that do not both fit scans one.
const viewed = new WeakMap<DuckDBConnection, Set<string>>();

/**
 * Drop the least recently used entries until `bytes` more fit in `maxBytes`: one of this
 * database by dropping its table, one of another by dropping that database's entries
 * (dropWarm closes it when idle, else when its job ends); never a table this connection's
 * views read. Returns whether they fit.
 */
async function makeRoom(connection: DuckDBConnection, bytes: number, maxBytes: number): Promise<boolean> {
  const instance = connectionInstance(connection);
  const reading = viewed.get(connection);
  for (const { instance: held, entry } of warmByAge()) {
    if (warmBytes() + bytes <= maxBytes) return true;
    if (held === instance && reading?.has(entry.table)) continue;
    if (held === instance) {
      removeWarm(held, entry.table);
      await connection.run(`DROP TABLE ${entry.table}`);
    } else {
      const key = entry.key;
      dropWarm((k) => k === key);
    }
  }
  return warmBytes() + bytes <= maxBytes;
}
