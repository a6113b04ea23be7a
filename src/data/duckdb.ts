/**
 * The DuckDB database plaintext is analysed in: in memory only, locked down before any
 * data arrives. No spilling to a temporary directory (plaintext must never touch the
 * disk: a query that needs more memory fails instead), no extension installs or
 * autoloads, no file or network access from SQL (`read_csv`, `COPY`, `ATTACH`, `INSTALL`
 * all fail), and the configuration locked so no statement can undo any of this.
 * Single-threaded by default, so floating-point aggregates come out bit-identical on
 * every run and a published result can be reproduced.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { releaseScans } from './duckdb-scan.ts';

/** Tuning knobs of the enclave's DuckDB. */
export interface DuckDBOptions {
  /** Worker threads (default 1: deterministic float aggregation). */
  threads?: number;
  /** DuckDB memory limit, e.g. '2GB' (default: DuckDB's, 80% of RAM). */
  memoryLimit?: string;
}

/** The configuration every enclave DuckDB starts with (order matters: DuckDB applies it in turn). */
export function lockedDownConfig(opts: DuckDBOptions = {}): Record<string, string> {
  const config: Record<string, string> = {
    // temp_directory must be set while file access is still allowed; '' disables spilling.
    temp_directory: '',
    threads: String(opts.threads ?? 1),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    allow_unsigned_extensions: 'false',
  };
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  config.enable_external_access = 'false';
  config.lock_configuration = 'true';
  return config;
}

/**
 * Run `fn` with a connection to a clean, locked-down in-memory DuckDB that no one else uses
 * meanwhile; the connection is closed when `fn` settles, whatever happens. The database is
 * one kept warm from an earlier call with the same options when there is one (starting a
 * DuckDB costs ~10 ms of CPU, a twelfth of a 1M-row job, measured), else a fresh one.
 * "Clean" is checked, not assumed: a database goes back to the pool only when, with the
 * connection closed, its catalog holds nothing but DuckDB's own entries (temporary tables
 * and views die with their connection, which is why the runner and the scan make only
 * those; the scans' data is forgotten with the connection, duckdb-scan.ts); otherwise it
 * is closed and its memory freed, as before the pool existed.
 */
export async function withDuckDB<T>(
  fn: (connection: DuckDBConnection) => Promise<T>,
  opts: DuckDBOptions = {},
): Promise<T> {
  const key = JSON.stringify(lockedDownConfig(opts));
  const instance = takeIdle(key) ?? (await DuckDBInstance.create(':memory:', lockedDownConfig(opts)));
  let reusable = false;
  try {
    const connection = await instance.connect();
    try {
      const out = await fn(connection);
      reusable = true;
      return out;
    } finally {
      releaseScans(connection);
      connection.closeSync();
    }
  } finally {
    // A failed job's database is not reused: an interrupted or out-of-memory DuckDB is
    // closed rather than reasoned about.
    if (reusable && (await isClean(instance))) putIdle(key, instance);
    else instance.closeSync();
  }
}

/** Idle databases by configuration; few, since each holds its threads and some memory. */
const idle = new Map<string, DuckDBInstance[]>();
const MAX_IDLE_PER_CONFIG = 2;
const MAX_IDLE = 4;

function takeIdle(key: string): DuckDBInstance | undefined {
  return idle.get(key)?.pop();
}

function putIdle(key: string, instance: DuckDBInstance): void {
  const list = idle.get(key) ?? [];
  const total = [...idle.values()].reduce((n, l) => n + l.length, 0);
  if (list.length >= MAX_IDLE_PER_CONFIG || total >= MAX_IDLE) {
    instance.closeSync();
    return;
  }
  list.push(instance);
  idle.set(key, list);
}

/** Close every idle database (tests, shutdown). */
export function closeIdleDuckDBs(): void {
  for (const list of idle.values()) for (const instance of list) instance.closeSync();
  idle.clear();
}

// What a job could have left that outlives its connection and holds rows or names: tables,
// views, sequences, schemas, attached databases (DuckDB's own are `internal`). The runner
// only ever makes temporary tables and views; this check is against a bug that made more.
// Macros and types are not listed: duckdb_functions() costs ~15 ms here (more than the
// pool saves), and the runner creates neither.
const LEFTOVERS = `SELECT
  (SELECT count(*) FROM duckdb_tables() WHERE NOT internal)
  + (SELECT count(*) FROM duckdb_views() WHERE NOT internal)
  + (SELECT count(*) FROM duckdb_sequences())
  + (SELECT count(*) FROM duckdb_schemas() WHERE NOT internal)
  + (SELECT count(*) FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory')`;

/** Whether a database's catalog holds only DuckDB's own entries (its connections closed). */
async function isClean(instance: DuckDBInstance): Promise<boolean> {
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(LEFTOVERS);
      return reader.getRows()[0]?.[0] === 0n;
    } finally {
      connection.closeSync();
    }
  } catch {
    return false;
  }
}
