/**
 * The DuckDB database plaintext is analysed in: in memory only, locked down before any
 * data arrives. No spilling to a temporary directory (plaintext must never touch the
 * disk: a query that needs more memory fails instead), no extension installs or
 * autoloads, no file or network access from SQL (`read_csv`, `COPY`, `ATTACH`, `INSTALL`
 * all fail), and the configuration locked so no statement can undo any of this.
 * Single-threaded by default, so floating-point aggregates come out bit-identical on
 * every run and a published result can be reproduced; a job whose result cannot depend on
 * the order of its rows asks for more (pipelines/threads.ts). The thread count is part of
 * the locked configuration (DuckDB refuses `SET threads` once locked), so the pool keeps
 * databases by thread count.
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
  /**
   * The work's result depends on the order of its rows (it runs on one thread): the
   * database it uses then keeps the warm cache for jobs that could use more threads, which
   * run there on one rather than move the cache (a move reads the datasets from their
   * stores again: more than a second thread saves).
   */
  serial?: boolean;
  /**
   * The warm cache's copy at ingest (enclave/store/prewarm.ts): the next job of any kind uses
   * this database once, so that the first job after an upload is warm; an order-free job
   * after it moves the cache to a database on more threads (one store read, once).
   */
  ingest?: boolean;
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
  return withDuckDBConnections(1, ([connection]) => fn(connection as DuckDBConnection), opts);
}

/**
 * withDuckDB with `count` connections to the same database, each of which runs its own
 * query on its own thread (of the database's `threads`, each query on one when it is 1:
 * pipelines/split.ts runs a job's two halves so). `fn` must let every query it started
 * settle before it settles: the connections are closed then, and the database returned to
 * the pool only when every one of them succeeded.
 */
export async function withDuckDBConnections<T>(
  count: number,
  fn: (connections: DuckDBConnection[]) => Promise<T>,
  opts: DuckDBOptions & WarmPreference = {},
): Promise<T> {
  const threads = opts.serial ? 1 : (opts.threads ?? 1);
  const config = lockedDownConfig({ threads, memoryLimit: opts.memoryLimit });
  const taken = takeIdle(threads, opts.memoryLimit, opts.prefer ?? []);
  const instance = taken?.instance ?? (await DuckDBInstance.create(':memory:', config));
  const key = taken?.key ?? JSON.stringify(config);
  if (opts.serial) serialUse.add(instance);
  if (opts.ingest) ingested.add(instance);
  else ingested.delete(instance);
  let reusable = false;
  const connections: DuckDBConnection[] = [];
  try {
    for (let i = 0; i < Math.max(1, count); i++) {
      const connection = await instance.connect();
      bindConnection(connection, instance);
      connections.push(connection);
    }
    const out = await fn(connections);
    reusable = true;
    return out;
  } finally {
    for (const connection of connections) {
      releaseScans(connection);
      connection.closeSync();
    }
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
/** Databases a serial job used (WarmPreference.serial): the warm cache they hold stays there. */
const serialUse = new WeakSet<DuckDBInstance>();
/** Databases filled at ingest that no job has used since (WarmPreference.ingest). */
const ingested = new WeakSet<DuckDBInstance>();

/**
 * An idle database for work on up to `threads` threads, with its pool key: one on exactly
 * `threads` holding most of the preferred warm datasets, else the most recently used; but
 * first one on fewer threads that holds the warm cache for serial jobs or from an ingest
 * (WarmPreference), since the cache lives in one database and moving it reads the datasets
 * from their stores again, which costs more than a second thread saves.
 */
function takeIdle(
  threads: number,
  memoryLimit: string | undefined,
  prefer: readonly { key: string; columns: readonly string[] }[],
): { instance: DuckDBInstance; key: string } | undefined {
  let best: { list: DuckDBInstance[]; at: number; key: string; score: number } | undefined;
  for (let t = threads; t >= 1; t--) {
    const key = JSON.stringify(lockedDownConfig({ threads: t, memoryLimit }));
    const list = idle.get(key) ?? [];
    for (let at = list.length - 1; at >= 0; at--) {
      const instance = list[at] as DuckDBInstance;
      const fewer = t < threads;
      const keeps = serialUse.has(instance) || ingested.has(instance);
      if (fewer && !(keeps && warmTables(instance).length > 0)) continue;
      const held = prefer.filter((p) => isHeld(instance, p.key, p.columns)).length;
      // Above any exact match: a database holding the serial jobs' cache.
      const score = held + (fewer ? prefer.length + 1 : 0);
      if (!best || score > best.score) best = { list, at, key, score };
    }
  }
  if (!best) return undefined;
  return { instance: best.list.splice(best.at, 1)[0] as DuckDBInstance, key: best.key };
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
