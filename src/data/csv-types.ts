/**
 * CSV column type inference: the type bits a column's values still allow, narrowed value by
 * value, and the type a finished state stands for. Apart from csv.ts (which builds Arrow
 * columns) so that learning a CSV's schema, as `obscura seal` does (csv-stream.ts,
 * csv-inspect-rows.ts), loads no Arrow.
 */
import type { CsvFields } from './csv-scan.ts';
import { parseBoolBytes, parseFloatBytes, parseIntBytes } from './csv-values.ts';
import { parseDateBytes, parseTimestampBytes } from './dates.ts';
import type { ColumnType } from './schema.ts';

/** Type bits of a column's inference state (narrowTypeMask). */
export const BOOL = 1;
export const INT = 2;
export const FLOAT = 4;
export const DATE = 8;
const TIMESTAMP = 16;

/** A column's type inference state: the types every value so far parses as, and SEEN once a value was. */
export const ANY_TYPE = BOOL | INT | FLOAT | DATE | TIMESTAMP;
/** Set in a state once a non-empty value was met. */
export const SEEN = 32;

/**
 * Narrow `state` (ANY_TYPE to start) by the values of column `c` in `f`; returns the new state.
 * States carry over from one piece of a CSV to the next, so inference can stream.
 */
export function narrowTypeMask(bytes: Uint8Array, f: CsvFields, c: number, state: number): number {
  const width = f.header.length;
  let mask = state & ANY_TYPE;
  let seen = state & SEEN;
  for (let r = 0, k = c; r < f.rows && mask !== 0; r++, k += width) {
    const s = f.starts[k] as number;
    const e = f.ends[k] as number;
    if (s === e) continue;
    seen = SEEN;
    mask = narrowValueMask(bytes, s, e, f.flags[k] as number, mask);
  }
  return mask | seen;
}

/**
 * Narrow the type bits `mask` (non-zero, without SEEN) by one non-empty value `bytes[s, e)`
 * whose CsvFields flag is `flag`; the one rule narrowTypeMask and the streaming inspector's
 * fused scan (csv-inspect-rows.ts) share.
 */
export function narrowValueMask(bytes: Uint8Array, s: number, e: number, flag: number, mask: number): number {
  if (flag === 2) return 0;
  if (mask & BOOL && parseBoolBytes(bytes, s, e) < 0) mask &= ~BOOL;
  if (mask & INT && parseIntBytes(bytes, s, e) === undefined) mask &= ~INT;
  if (mask & FLOAT && !(mask & INT) && Number.isNaN(parseFloatBytes(bytes, s, e))) mask &= ~FLOAT;
  if (mask & DATE && Number.isNaN(parseDateBytes(bytes, s, e))) mask &= ~DATE;
  // Checked on every value, dates too: a bare date is not a valid timestamp, so a column of
  // dates then timestamps must fall back to string rather than fail when it is built.
  if (mask & TIMESTAMP && Number.isNaN(parseTimestampBytes(bytes, s, e) as number)) mask &= ~TIMESTAMP;
  return mask;
}

/** The type a finished inference state stands for. */
export function typeOfMask(state: number): ColumnType {
  if (!(state & SEEN)) return 'string';
  if (state & BOOL) return 'bool';
  if (state & INT) return 'int64';
  if (state & FLOAT) return 'float64';
  if (state & DATE) return 'date';
  if (state & TIMESTAMP) return 'timestamp';
  return 'string';
}
