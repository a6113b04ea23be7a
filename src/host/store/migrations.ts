/**
 * The metadata database's schema, as its history: numbered migrations, each applied once and
 * in order inside a transaction (openDb, db.ts), the database's user_version counting those
 * applied. A change to the schema is a new entry at the end; an entry never changes once
 * released, since databases already past it would not see the change.
 */

/** The migrations, oldest first: entry i takes a database from version i to i + 1. */
export const MIGRATIONS: string[] = [
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
