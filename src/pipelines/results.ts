/**
 * Turning DuckDB result values into the JSON-safe values a signed result carries: BigInts
 * become numbers when they are safe integers (decimal strings otherwise), dates
 * `YYYY-MM-DD`, timestamps `YYYY-MM-DDTHH:MM:SS[.ffffff]`, and non-finite floats null
 * (JSON cannot hold them).
 */
import { DuckDBDateValue, DuckDBTimestampValue, type DuckDBValue } from '@duckdb/node-api';
import { formatDate, formatTimestamp } from '../data/index.ts';

/** A value of an output cell. */
export type OutputValue = string | number | boolean | null;

/** Convert one DuckDB value; throws TypeError for a kind of value outputs never hold. */
export function toOutputValue(v: DuckDBValue): OutputValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint')
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  if (v instanceof DuckDBDateValue) return formatDate(v.days);
  if (v instanceof DuckDBTimestampValue) return formatTimestamp(v.micros);
  throw new TypeError('unexpected kind of value in a pipeline result');
}
