/**
 * The field readers of the one-pass CSV parser (csv-typed.ts): each finds the end of one
 * field and converts it into its column as it scans, for the common forms of each type
 * (plain strings, integers and decimals of up to 15 digits, ISO dates of the years
 * 1900-2155, booleans); any other form goes through the general parser's conversion of
 * the whole field (genericField), so the values are always the general parser's.
 */
import { daysFromCivil } from './dates.ts';
import { parseBoolBytes } from './csv-values.ts';
import {
  type Column,
  DOT,
  GIVE_UP,
  K_STRING,
  MINUS,
  PLUS,
  QUOTE,
  reserve,
  SPECIAL,
  setNull,
  store,
  storeEscaped,
} from './csv-typed-column.ts';
import { setInt64 } from './columns.ts';

/** String bytes kept free ahead of each field, so most are copied as they are scanned. */
const ROOM = 4096;
/** Powers of ten a fraction of up to 15 digits divides by. */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Set by quotedEnd: whether the quoted field just read holds `""` escapes. */
export let escaped = false;

/** The closing quote of the quoted field opening at `open`; gives up when it is not closed. */
export function quotedEnd(bytes: Uint8Array, open: number): number {
  escaped = false;
  let q = open + 1;
  for (;;) {
    q = bytes.indexOf(QUOTE, q);
    if (q < 0) throw GIVE_UP;
    if (bytes[q + 1] === QUOTE) {
      escaped = true;
      q += 2;
      continue;
    }
    return q;
  }
}

/** A quoted field at `pos` into `col`; returns the position after its closing quote. */
export function quotedField(col: Column, bytes: Uint8Array, pos: number, row: number): number {
  const e = quotedEnd(bytes, pos);
  if (!escaped) store(col, bytes, pos + 1, e, row);
  else if (col.kind === K_STRING) storeEscaped(col, bytes, pos + 1, e, row);
  else throw GIVE_UP; // a `""` in a non-string column: the general parser names it
  return e + 1;
}

/** 0x01 in every byte, and the high bit of every byte (SWAR: four bytes in one int32). */
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;

/**
 * Nonzero when one of the four bytes of `v` is a byte that ends an unquoted field (SPECIAL:
 * comma, quote, LF, CR). `(x - ONES) & ~x & HIGHS` is nonzero exactly when a byte of `x` is
 * zero, so each term finds a byte equal to one of them; a byte of 0x80 or more (UTF-8) has
 * its high bit cleared by `~x` and never counts.
 */
function hasSpecial(v: number): number {
  const c = v ^ 0x2c2c2c2c;
  const q = v ^ 0x22222222;
  const l = v ^ 0x0a0a0a0a;
  const r = v ^ 0x0d0d0d0d;
  return (((c - ONES) & ~c) | ((q - ONES) & ~q) | ((l - ONES) & ~l) | ((r - ONES) & ~r)) & HIGHS;
}

/**
 * An unquoted string field at `pos`; returns its end. Its bytes are copied as they are
 * scanned (one read of each), into room reserved ahead: four at a time while none of them
 * ends the field (`src` is `bytes` as a DataView), then byte by byte; a field longer than
 * that room is finished by a second scan and a block copy. The byte-by-byte loop was a third
 * of the parse (the sample visits' id and region: ~20 bytes a row).
 */
export function stringField(
  col: Column,
  bytes: Uint8Array,
  src: DataView,
  pos: number,
  n: number,
  row: number,
): number {
  if (col.data.length - col.used < ROOM) reserve(col, ROOM);
  const data = col.data;
  const dst = col.view;
  let w = col.used;
  const s = pos;
  const stop = Math.min(n, pos + data.length - w);
  while (pos + 4 <= stop) {
    const v = src.getInt32(pos, true);
    if (hasSpecial(v) !== 0) break;
    dst.setInt32(w, v, true);
    pos += 4;
    w += 4;
  }
  while (pos < stop) {
    const b = bytes[pos] as number;
    if (SPECIAL[b] !== 0) break;
    data[w++] = b;
    pos++;
  }
  if (pos === stop && pos < n && SPECIAL[bytes[pos] as number] === 0) {
    let e = pos;
    while (e < n && SPECIAL[bytes[e] as number] === 0) e++;
    col.used = w;
    reserve(col, e - pos).set(bytes.subarray(pos, e), w);
    w += e - pos;
    pos = e;
  }
  if (s === pos) {
    setNull(col, row);
    return pos;
  }
  col.used = w;
  col.offsets[row + 1] = w;
  return pos;
}

/**
 * An unquoted int64 field at `pos`; returns its end. Up to 15 digits are converted as they
 * are scanned (what parseIntBytes does for them); anything else goes through parseIntBytes.
 */
export function int64Field(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
  let p = pos;
  const sign = bytes[p];
  if (sign === MINUS || sign === PLUS) p++;
  const from = p;
  let v = 0;
  while (p < n) {
    const d = (bytes[p] as number) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    p++;
  }
  if (p > from && p - from <= 15 && (p === n || SPECIAL[bytes[p] as number] === 1)) {
    setInt64(col.longs, col.halves, row, sign === MINUS ? -v : v);
    return p;
  }
  return genericField(col, bytes, pos, n, row);
}

/**
 * An unquoted float64 field at `pos`; returns its end. `[-+]digits[.digits]` of at most 15
 * digits is converted as it is scanned, by the same arithmetic as parseFloatBytes (the
 * digits as an integer, divided by the power of ten of the fraction's length); anything
 * else goes through parseFloatBytes.
 */
export function floatField(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
  let p = pos;
  const sign = bytes[p];
  if (sign === MINUS || sign === PLUS) p++;
  const from = p;
  let mant = 0;
  while (p < n) {
    const d = (bytes[p] as number) - 48;
    if (d < 0 || d > 9) break;
    mant = mant * 10 + d;
    p++;
  }
  let frac = 0;
  if (p > from && p < n && bytes[p] === DOT) {
    p++;
    const f = p;
    while (p < n) {
      const d = (bytes[p] as number) - 48;
      if (d < 0 || d > 9) break;
      mant = mant * 10 + d;
      p++;
    }
    frac = p - f;
  }
  const digits = p - from - (frac > 0 ? 1 : 0);
  if (p > from && frac > 0 && digits <= 15 && (p === n || SPECIAL[bytes[p] as number] === 1)) {
    const v = mant === 0 ? 0 : mant / (POW10[frac] as number);
    col.floats[row] = sign === MINUS ? -v : v;
    return p;
  }
  return genericField(col, bytes, pos, n, row);
}

/** Whether a field may end at `e`: the end of the input or a delimiter. */
export function endsAt(bytes: Uint8Array, e: number, n: number): boolean {
  return e === n || (e < n && SPECIAL[bytes[e] as number] === 1);
}

/** Anything a fast field reader does not take: find the field's end and convert it as the general parser does. */
export function genericField(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
  let e = pos;
  while (e < n && SPECIAL[bytes[e] as number] === 0) e++;
  store(col, bytes, pos, e, row);
  return e;
}

/** An unquoted bool field at `pos` (`true`/`false` in any case, as parseBoolBytes reads them); returns its end. */
export function boolField(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
  const e = endsAt(bytes, pos + 4, n) ? pos + 4 : pos + 5;
  const v = endsAt(bytes, e, n) ? parseBoolBytes(bytes, pos, e) : -1;
  if (v < 0) return genericField(col, bytes, pos, n, row);
  if (v === 1) col.bits[row >> 3] = (col.bits[row >> 3] as number) | (1 << (row & 7));
  return e;
}

/** First years of the month table: dates in these years are converted by a look-up. */
export const FIRST_YEAR = 1900;
export const YEARS = 256;
/** Days since 1970-01-01 of the first of each month from FIRST_YEAR on, and one month past the last. */
export const MONTH_STARTS = new Int32Array(YEARS * 12 + 1);
for (let i = 0; i <= YEARS * 12; i++)
  MONTH_STARTS[i] = daysFromCivil(FIRST_YEAR + Math.floor(i / 12), (i % 12) + 1, 1);

/** Two ASCII digits at `bytes[at]`, or -1. */
export function twoDigits(bytes: Uint8Array, at: number): number {
  const a = (bytes[at] as number) - 48;
  const b = (bytes[at + 1] as number) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * An unquoted date field at `pos`; returns its end. `YYYY-MM-DD` in the month table's years
 * is checked and converted by a look-up (the first of its month plus its day, which is what
 * daysFromCivil computes); anything else goes through parseDateBytes.
 */
export function dateField(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
  const e = pos + 10;
  if (endsAt(bytes, e, n) && bytes[pos + 4] === 45 && bytes[pos + 7] === 45) {
    const hi = twoDigits(bytes, pos);
    const lo = twoDigits(bytes, pos + 2);
    const m = twoDigits(bytes, pos + 5);
    const d = twoDigits(bytes, pos + 8);
    const i = (hi * 100 + lo - FIRST_YEAR) * 12 + m - 1;
    if (hi >= 0 && lo >= 0 && m >= 1 && m <= 12 && d >= 1 && i >= 0 && i < YEARS * 12) {
      const start = MONTH_STARTS[i] as number;
      if (d <= (MONTH_STARTS[i + 1] as number) - start) {
        col.ints[row] = start + d - 1;
        return e;
      }
    }
  }
  return genericField(col, bytes, pos, n, row);
}
