/**
 * The enclave's budget for its warm cache of decrypted datasets (data/duckdb-warm.ts):
 * bytes of plaintext it may keep as DuckDB in-memory tables between jobs. They are part of
 * the memory a job's DuckDB may use (the same database, under the same memory limit), so
 * the default is a quarter of the memory limit per job and the most is half; 0 turns the
 * cache off. Set once at start from OBSCURA_WARM_CACHE_BYTES (environment.ts).
 */
import type { JobLimits } from '../pipelines/limits.ts';

let configured: number | undefined;

/** The cache's budget for these limits: `given` clamped to [0, half the memory limit], else a quarter. */
export function warmCacheBytes(limits: JobLimits, given: number | undefined = configured): number {
  const most = Math.floor(limits.memoryBytes / 2);
  return given === undefined ? Math.floor(limits.memoryBytes / 4) : Math.max(0, Math.min(most, given));
}

/** Set the budget the host asked for (start.ts); undefined for the default. */
export function configureWarmCache(bytes: number | undefined): void {
  configured = bytes;
}
