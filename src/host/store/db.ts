/**
 * The host's SQLite metadata database (better-sqlite3, WAL). Holds public metadata only:
 * manifests (signed, public by design), pipelines, jobs and results. Schema changes are
 * numbered migrations (migrations.ts) applied in order inside a transaction.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

/** An open metadata database. */
export type Db = Database.Database;

/** Open (creating if needed) and migrate the database at `path`. */
export function openDb(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Off while migrating, so a migration may rebuild a table others reference; checked after.
  db.pragma('foreign_keys = OFF');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length)
        throw new Error(`metadata migration ${v + 1} left ${broken.length} broken references`);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  db.pragma('foreign_keys = ON');
  cacheStatements(db);
  return db;
}

/** SQL texts kept compiled; beyond this many (dynamic SQL), statements are compiled per call. */
const MAX_CACHED_STATEMENTS = 512;

/** Writes made through each connection by statements from its `prepare`. */
const writes = new WeakMap<Db, { count: number }>();

/**
 * A number that grows with every statement that may write, run through `db`'s `prepare`
 * (all the host's stores use it; `exec` is for migrations). Readers compare it to tell that
 * nothing changed (Metadata.version); other connections are covered by `data_version`.
 */
export function writeCount(db: Db): number {
  return writes.get(db)?.count ?? 0;
}

/**
 * Compile each SQL text once: `prepare` on every query was the largest single cost of a
 * read under load (measured on GET /v1/results/{id}: about an eighth of the host's CPU).
 * A shared statement must not change mode or stay busy, so nothing here calls `pluck`,
 * `raw`, `expand` or `iterate` on a prepared statement (better-sqlite3's own `pragma` and
 * transactions compile their statements without this wrapper). Statements that may write
 * count their runs (writeCount).
 */
function cacheStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const counter = { count: 0 };
  writes.set(db, counter);
  const statements = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = compile(sql);
      if (!statement.readonly) {
        for (const method of ['run', 'get', 'all'] as const) {
          const call = statement[method].bind(statement) as (...args: unknown[]) => unknown;
          (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
            counter.count++;
            return call(...args);
          };
        }
      }
      if (statements.size < MAX_CACHED_STATEMENTS) statements.set(sql, statement);
    }
    return statement;
  }) as Db['prepare'];
}
