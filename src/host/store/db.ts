/**
 * The host's SQLite metadata database (better-sqlite3, WAL). Holds public metadata only:
 * manifests (signed, public by design), pipelines, jobs and results. Schema changes are
 * numbered migrations applied in order inside a transaction.
 */
import Database from 'better-sqlite3';

/** An open metadata database. */
export type Db = Database.Database;

const MIGRATIONS: string[] = [
  `CREATE TABLE datasets (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     owner TEXT NOT NULL,
     worker_id TEXT NOT NULL,
     format TEXT NOT NULL,
     rows INTEGER NOT NULL,
     ciphertext_sha256 TEXT NOT NULL,
     ciphertext_bytes INTEGER NOT NULL,
     manifest_json TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE pipelines (
     hash TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     document TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     analyst TEXT NOT NULL,
     pipeline_hash TEXT NOT NULL REFERENCES pipelines(hash),
     inputs_json TEXT NOT NULL,
     worker_id TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed')),
     progress REAL NOT NULL DEFAULT 0,
     message TEXT NOT NULL DEFAULT '',
     error_code TEXT,
     error_message TEXT,
     result_id TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE INDEX jobs_status ON jobs(status, created_at);
   CREATE TABLE results (
     id TEXT PRIMARY KEY,
     job_id TEXT NOT NULL REFERENCES jobs(id),
     hash TEXT NOT NULL,
     document TEXT NOT NULL,
     created_at TEXT NOT NULL
   );`,
  `CREATE TABLE upgrade_authorizations (
     from_measurement TEXT NOT NULL,
     to_measurement TEXT NOT NULL,
     authorized_by TEXT NOT NULL,
     receipt_json TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (from_measurement, to_measurement)
   );`,
  // Approvals, policy updates and the enclaves' budget ledgers. A job waiting for owners'
  // approvals stays 'queued' with awaiting_approval set, so the status CHECK need not change.
  `ALTER TABLE jobs ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
   ALTER TABLE jobs ADD COLUMN awaiting_approval INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE approvals (
     dataset_id TEXT NOT NULL REFERENCES datasets(id),
     pipeline_hash TEXT NOT NULL,
     document TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (dataset_id, pipeline_hash)
   );
   CREATE TABLE policy_updates (
     dataset_id TEXT NOT NULL REFERENCES datasets(id),
     version INTEGER NOT NULL,
     document TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (dataset_id, version)
   );
   CREATE TABLE ledger_entries (
     worker_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     document TEXT NOT NULL,
     placement TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (worker_id, seq)
   );`,
  // Accepted signed requests, for replay protection that survives a restart (src/host/store/replay.ts),
  // and who stored each pipeline (they may read it back: src/host/api/access.ts).
  `CREATE TABLE seen_requests (
     request_key BLOB PRIMARY KEY,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX seen_requests_expiry ON seen_requests(expires_at);
   CREATE TABLE pipeline_authors (
     hash TEXT NOT NULL,
     account TEXT NOT NULL,
     PRIMARY KEY (hash, account)
   );`,
  // The operator-signed statement an upgrade authorisation anchors (null for rows anchored
  // before statements were signed: those no longer authorise a hand-over).
  `ALTER TABLE upgrade_authorizations ADD COLUMN statement_json TEXT;`,
  // Jobs can end 'cancelled'. SQLite cannot change a CHECK in place: the table is rebuilt
  // (openDb runs migrations with foreign keys off, as SQLite's procedure for this asks).
  `CREATE TABLE jobs_next (
     id TEXT PRIMARY KEY,
     analyst TEXT NOT NULL,
     pipeline_hash TEXT NOT NULL REFERENCES pipelines(hash),
     inputs_json TEXT NOT NULL,
     worker_id TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
     progress REAL NOT NULL DEFAULT 0,
     message TEXT NOT NULL DEFAULT '',
     error_code TEXT,
     error_message TEXT,
     result_id TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     purpose TEXT NOT NULL DEFAULT '',
     awaiting_approval INTEGER NOT NULL DEFAULT 0
   );
   INSERT INTO jobs_next (id, analyst, pipeline_hash, inputs_json, worker_id, status, progress, message, error_code, error_message, result_id, created_at, updated_at, purpose, awaiting_approval)
     SELECT id, analyst, pipeline_hash, inputs_json, worker_id, status, progress, message, error_code, error_message, result_id, created_at, updated_at, purpose, awaiting_approval FROM jobs;
   DROP TABLE jobs;
   ALTER TABLE jobs_next RENAME TO jobs;
   CREATE INDEX jobs_status ON jobs(status, created_at);`,
  // Jobs keep the analyst's signed request; approvals are bound to an analyst, a purpose,
  // an expiry and a number of runs (approval/2), so several may exist per dataset and
  // pipeline. Unbound approval/1 rows are dropped: the enclave no longer honours them.
  `ALTER TABLE jobs ADD COLUMN request_json TEXT;
   DROP TABLE approvals;
   CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     dataset_id TEXT NOT NULL REFERENCES datasets(id),
     pipeline_hash TEXT NOT NULL,
     analyst TEXT NOT NULL,
     purpose_sha256 TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     runs INTEGER NOT NULL,
     document TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX approvals_lookup ON approvals(dataset_id, pipeline_hash, analyst, purpose_sha256);`,
  // Crash safety (docs/operations.md). A job waiting for the chain is 'running' with anchoring
  // set (shown as 'anchoring'); the result it waits to anchor is kept in pending_results, so a
  // restart resumes the anchor instead of losing the result. A policy update is recorded in
  // pending_policy_updates before its worker applies it, so a restart can tell whether the
  // worker applied it (roll forward) or not (drop it).
  `ALTER TABLE jobs ADD COLUMN anchoring INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE pending_results (
     job_id TEXT PRIMARY KEY REFERENCES jobs(id),
     document TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE pending_policy_updates (
     dataset_id TEXT NOT NULL REFERENCES datasets(id),
     version INTEGER NOT NULL,
     document TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (dataset_id, version)
   );`,
  // Lists read results a page at a time in this order (Metadata.resultsAfter), not all of them.
  `CREATE INDEX results_list ON results(created_at DESC, id);`,
  // And jobs likewise (Metadata.jobsAfter).
  `CREATE INDEX jobs_list ON jobs(created_at DESC, id);`,
  // And datasets (Metadata.datasetsAfter), and by sealed file (Metadata.hasCiphertext).
  `CREATE INDEX datasets_list ON datasets(created_at DESC, id);
   CREATE INDEX datasets_ciphertext ON datasets(ciphertext_sha256);`,
  // And pipelines (Metadata.pipelinesAfter), which look for a readable job of each candidate.
  `CREATE INDEX pipelines_list ON pipelines(created_at DESC, hash);
   CREATE INDEX jobs_pipeline ON jobs(pipeline_hash);`,
];

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
