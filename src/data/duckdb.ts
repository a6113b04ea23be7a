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
 * Run `fn` with a connection to a fresh, locked-down in-memory DuckDB; the connection and
 * the database are closed (and their memory freed) when `fn` settles, whatever happens.
 */
export async function withDuckDB<T>(
  fn: (connection: DuckDBConnection) => Promise<T>,
  opts: DuckDBOptions = {},
): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', lockedDownConfig(opts));
  try {
    const connection = await instance.connect();
    try {
      return await fn(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
