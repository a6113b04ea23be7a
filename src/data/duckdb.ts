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
import {
  bindConnection,
  doomOthers,
  doomWarm,
  findWarm,
  forgetInstance,
  isDoomed,
  warmKey,
  warmTables,
} from './duckdb-warm.ts';

/** Tuning knobs of the enclave's DuckDB. */
export interface DuckDBOptions {
  /** Worker threads (default 1: deterministic float aggregation). */
  threads?: number;
  /** DuckDB memory limit, e.g. '2GB' (default: DuckDB's, 80% of RAM). */
  memoryLimit?: string;
}

/** Which idle database withDuckDB prefers: the one holding most of these warm datasets. */
export interface WarmPreference {
  /** Warm cache keys with the columns wanted of each (duckdb-warm.ts). */
  prefer?: readonly { key: string; columns: readonly string[] }[];
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
    // Memory a query freed goes back to the system within seconds, not when the allocator
    // next happens to purge: without it an idle pooled database kept ~1 GiB after a join of
    // two 5M-row datasets, and the next job's peak stacked on it (measured: 1.4 GiB, then
    // 2.2 GiB for the same job; with it, back to 0.46 GiB within 12 s).
    allocator_background_threads: 'true',
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
  opts: DuckDBOptions & WarmPreference = {},
): Promise<T> {
  const config = lockedDownConfig({ threads: opts.threads, memoryLimit: opts.memoryLimit });
  const key = JSON.stringify(config);
  const instance = takeIdle(key, opts.prefer ?? []) ?? (await DuckDBInstance.create(':memory:', config));
  let reusable = false;
  try {
    const connection = await instance.connect();
    bindConnection(connection, instance);
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
    // A database whose cached datasets were dropped meanwhile (a revocation) is closed too.
    if (reusable && !isDoomed(instance) && (await isClean(instance))) putIdle(key, instance);
    else close(instance);
  }
}

/** Close a database and forget the warm datasets it held. */
function close(instance: DuckDBInstance): void {
  forgetInstance(instance);
  instance.closeSync();
}

/**
 * Drop at once every warm dataset `match` selects (by cache key, duckdb-warm.ts): each
 * database holding one is closed now when idle, else as soon as its job ends; no job finds
 * them from now on. For a revocation (by manifest hash) and a hand-over (all).
 */
export function dropWarm(match: (key: string) => boolean): void {
  closeDoomed(doomWarm(match));
}

/**
 * Drop the warm datasets of every database but `keep` (closed now when idle, else when
 * their job ends), so that the cache lives in one database, inside the memory limit of the
 * job using it (duckdb-warm-load.ts).
 */
export function dropWarmElsewhere(keep: DuckDBInstance): void {
  closeDoomed(doomOthers(keep));
}

function closeDoomed(doomed: DuckDBInstance[]): void {
  const hit = new Set(doomed);
  for (const [key, list] of idle) {
    const kept = list.filter((instance) => !hit.has(instance));
    for (const instance of list) if (hit.has(instance)) close(instance);
    idle.set(key, kept);
  }
}

/** Drop the warm datasets of the manifest with this hash (its owner revoked it). */
export function dropWarmDataset(manifestHash: string): void {
  const prefix = warmKey(manifestHash, '');
  dropWarm((key) => key.startsWith(prefix));
}

/** Idle databases by configuration; few, since each holds its threads and some memory. */
const idle = new Map<string, DuckDBInstance[]>();
const MAX_IDLE_PER_CONFIG = 2;
const MAX_IDLE = 4;

function takeIdle(
  key: string,
  prefer: readonly { key: string; columns: readonly string[] }[],
): DuckDBInstance | undefined {
  const list = idle.get(key);
  if (!list?.length) return undefined;
  // The database holding most of the job's warm datasets; else the most recently used.
  let best = list.length - 1;
  let most = 0;
  list.forEach((instance, i) => {
    const held = prefer.filter((p) => isHeld(instance, p.key, p.columns)).length;
    if (held > most) [best, most] = [i, held];
  });
  return list.splice(best, 1)[0];
}

function isHeld(instance: DuckDBInstance, key: string, columns: readonly string[]): boolean {
  return findWarm(instance, key, columns) !== undefined;
}

function putIdle(key: string, instance: DuckDBInstance): void {
  const list = idle.get(key) ?? [];
  const total = [...idle.values()].reduce((n, l) => n + l.length, 0);
  if (list.length >= MAX_IDLE_PER_CONFIG || total >= MAX_IDLE) {
    close(instance);
    return;
  }
  list.push(instance);
  idle.set(key, list);
}

/** Close every idle database (tests, shutdown). */
export function closeIdleDuckDBs(): void {
  for (const list of idle.values()) for (const instance of list) close(instance);
  idle.clear();
}

// What a job could have left that outlives its connection and holds rows or names: tables,
// views, sequences, schemas, attached databases (DuckDB's own are `internal`). The runner
// only ever makes temporary tables and views, and the warm cache's tables (duckdb-warm.ts),
// which the check is told of; it is against a bug that made more.
// Macros and types are not listed: duckdb_functions() costs ~15 ms here (more than the
// pool saves), and the runner creates neither.
const leftovers = (cached: readonly string[]) => `SELECT
  (SELECT count(*) FROM duckdb_tables() WHERE NOT internal${
    cached.length
      ? ` AND NOT (schema_name = 'main' AND table_name IN (${cached.map((t) => `'${t}'`).join(', ')}))`
      : ''
  })
  + (SELECT count(*) FROM duckdb_views() WHERE NOT internal)
  + (SELECT count(*) FROM duckdb_sequences())
  + (SELECT count(*) FROM duckdb_schemas() WHERE NOT internal)
  + (SELECT count(*) FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory')`;

/** Whether a database's catalog holds only DuckDB's own entries (its connections closed). */
async function isClean(instance: DuckDBInstance): Promise<boolean> {
  try {
    const connection = await instance.connect();
    try {
      // The cache's table names are random hex made by duckdb-warm-load.ts: safe to inline.
      const reader = await connection.runAndReadAll(leftovers(warmTables(instance)));
      return reader.getRows()[0]?.[0] === 0n;
    } finally {
      connection.closeSync();
    }
  } catch {
    return false;
  }
}
