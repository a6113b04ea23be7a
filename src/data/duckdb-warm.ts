/**
 * The warm cache's bookkeeping: which decrypted datasets the enclave keeps as DuckDB
 * in-memory tables, in which of the pooled databases (duckdb.ts), how many bytes they hold
 * and when each was last used. A job over a dataset found here reads DuckDB's own table
 * instead of decrypting the store and handing DuckDB its columns a vector at a time
 * (duckdb-warm-load.ts); measured at 1M rows, 3 columns, that is most of a job's time.
 *
 * The tables hold plaintext, so they live in enclave memory only (the databases never
 * spill, duckdb.ts) and are bounded by a byte budget shared by every database, the least
 * recently used dropped first. They are never named by a job: a pipeline names columns,
 * never tables (pipelines/expr), and the runner reaches a cached table only through a
 * temporary view of the job's own connection. An entry is forgotten at once when its
 * dataset is revoked or the enclave's identity handed over (dropWarm): the database holding
 * it is closed now when idle, else as soon as its job ends, and no later job finds it.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** One cached dataset: its key, its table, the dataset's columns it holds (as c0, c1, …). */
export interface WarmEntry {
  /** Identifies the rows: the dataset's manifest hash, then its store (see warmKey). */
  key: string;
  /** The table's name in the database (random, never derived from the dataset). */
  table: string;
  /** Dataset column names, in the table's order: column i is stored as `c${i}`. */
  columns: string[];
  rows: number;
  bytes: number;
  /** Last use, for LRU eviction (a counter, not a time). */
  used: number;
}

const entries = new Map<DuckDBInstance, WarmEntry[]>();
const instanceOf = new WeakMap<DuckDBConnection, DuckDBInstance>();
/** Databases whose entries were dropped while a job used them: closed when it ends. */
const doomed = new WeakSet<DuckDBInstance>();
let clock = 0;

/** The key of a dataset's rows: its manifest hash and a digest of its store's index. */
export function warmKey(manifestHash: string, storeDigest: string): string {
  return `${manifestHash}:${storeDigest}`;
}

/** Record which database a pooled connection belongs to (duckdb.ts, as it connects). */
export function bindConnection(connection: DuckDBConnection, instance: DuckDBInstance): void {
  instanceOf.set(connection, instance);
}

/** The database of a pooled connection, if it is one. */
export function connectionInstance(connection: DuckDBConnection): DuckDBInstance | undefined {
  return instanceOf.get(connection);
}

/** The entry of `instance` for `key` holding every column of `columns`, marked used; undefined if none. */
export function findWarm(
  instance: DuckDBInstance,
  key: string,
  columns: readonly string[],
): WarmEntry | undefined {
  const entry = (entries.get(instance) ?? []).find(
    (e) => e.key === key && columns.every((c) => e.columns.includes(c)),
  );
  if (entry) entry.used = ++clock;
  return entry;
}

/** Whether any database holds `key` with `columns` (a job then defers its read). */
export function isWarm(key: string, columns: readonly string[]): boolean {
  for (const list of entries.values())
    if (list.some((e) => e.key === key && columns.every((c) => e.columns.includes(c)))) return true;
  return false;
}

/** Record a table just filled in `instance`. */
export function addWarm(instance: DuckDBInstance, entry: Omit<WarmEntry, 'used'>): void {
  const list = entries.get(instance) ?? [];
  list.push({ ...entry, used: ++clock });
  entries.set(instance, list);
}

/** Forget one entry (its table dropped by the caller). */
export function removeWarm(instance: DuckDBInstance, table: string): void {
  const list = (entries.get(instance) ?? []).filter((e) => e.table !== table);
  if (list.length) entries.set(instance, list);
  else entries.delete(instance);
}

/** Bytes held by every entry of every database. */
export function warmBytes(): number {
  let n = 0;
  for (const list of entries.values()) for (const e of list) n += e.bytes;
  return n;
}

/** Every entry with its database, least recently used first. */
export function warmByAge(): { instance: DuckDBInstance; entry: WarmEntry }[] {
  const all = [...entries].flatMap(([instance, list]) => list.map((entry) => ({ instance, entry })));
  return all.sort((a, b) => a.entry.used - b.entry.used);
}

/** The cached tables of `instance` (the pool's clean-catalog check leaves exactly these). */
export function warmTables(instance: DuckDBInstance): string[] {
  return (entries.get(instance) ?? []).map((e) => e.table);
}

/** Forget every entry of a database being closed. */
export function forgetInstance(instance: DuckDBInstance): void {
  entries.delete(instance);
}

/**
 * Forget the entries `match` selects and return the databases that held them, each marked
 * doomed: the pool closes them (now when idle, else when their job ends), which frees the
 * tables; nothing finds those entries from now on.
 */
export function doomWarm(match: (key: string) => boolean): DuckDBInstance[] {
  const hit: DuckDBInstance[] = [];
  for (const [instance, list] of entries) {
    if (!list.some((e) => match(e.key))) continue;
    hit.push(instance);
    doomed.add(instance);
    entries.delete(instance);
  }
  return hit;
}

/** Whether a database other than `instance` holds cached entries. */
export function warmElsewhere(instance: DuckDBInstance): boolean {
  for (const held of entries.keys()) if (held !== instance) return true;
  return false;
}

/** As doomWarm, for every database but `keep`: their entries forgotten, the databases returned, each marked doomed. */
export function doomOthers(keep: DuckDBInstance): DuckDBInstance[] {
  const hit = [...entries.keys()].filter((instance) => instance !== keep);
  for (const instance of hit) {
    doomed.add(instance);
    entries.delete(instance);
  }
  return hit;
}

/** Whether a database's cached entries were dropped while it was in use. */
export function isDoomed(instance: DuckDBInstance): boolean {
  return doomed.has(instance);
}
