/**
 * Comparing and adding the values partial states hold, the way DuckDB does: keys sort
 * nulls first, numbers by value, strings by code point (DuckDB's binary order); int64
 * values beyond 2^53 are decimal strings and compare and add as big integers.
 */
import type { OutputValue } from '../results.ts';

const isDecimal = (v: OutputValue): v is string => typeof v === 'string' && /^-?\d+$/.test(v);

/** Order of two values of one column (type as in the plan); nulls first. */
export function compareValues(a: OutputValue, b: OutputValue, type?: string): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (type === 'int64' && (isDecimal(a) || isDecimal(b))) {
    const [x, y] = [BigInt(a as number | string), BigInt(b as number | string)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  const [s, t] = [String(a), String(b)];
  // Code point order (UTF-8 byte order), not UTF-16 code unit order.
  const [x, y] = [[...s], [...t]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as string).codePointAt(0) as number;
    const e = (y[i] as string).codePointAt(0) as number;
    if (d !== e) return d - e;
  }
  return x.length - y.length;
}

/** a + b: big integers when `integral` (a decimal string when beyond 2^53), floats otherwise. */
export function addSums(a: number | string, b: number | string, integral: boolean): number | string {
  if (!integral) return Number(a) + Number(b);
  const s = BigInt(a) + BigInt(b);
  return s <= BigInt(Number.MAX_SAFE_INTEGER) && s >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(s)
    : s.toString();
}
