/**
 * The columns the one-pass CSV parser (csv-typed.ts) fills: one buffer set per column of
 * the schema, converted values written straight in, and the general parser's conversions
 * (csv-values.ts, dates.ts) for every value the field readers (csv-typed-fields.ts) do not
 * convert themselves. Giving up (GIVE_UP) hands the whole input to the general parser.
 */
import { type Data, makeData, Utf8 } from 'apache-arrow';
import { allValid, fixedColumn, setInt64 } from './columns.ts';
import { parseBoolBytes, parseFloatBytes, parseIntBytes } from './csv-values.ts';
import { parseDateBytes, parseTimestampBytes } from './dates.ts';
import type { DatasetSchema } from './schema.ts';

export const COMMA = 44;
export const QUOTE = 34;
export const LF = 10;
export const CR = 13;
export const MINUS = 45;
export const PLUS = 43;
export const DOT = 46;
/** Bytes that end an unquoted field or must not appear in one. */
export const SPECIAL = new Uint8Array(256);
SPECIAL[COMMA] = 1;
SPECIAL[LF] = 1;
SPECIAL[CR] = 1;
SPECIAL[QUOTE] = 1;

export const K_STRING = 0;
export const K_INT64 = 1;
export const K_INT32 = 2;
export const K_FLOAT = 3;
export const K_BOOL = 4;
export const K_DATE = 5;
export const K_TIMESTAMP = 6;

export const KINDS = {
  string: K_STRING,
  int64: K_INT64,
  int32: K_INT32,
  float64: K_FLOAT,
  bool: K_BOOL,
  date: K_DATE,
  timestamp: K_TIMESTAMP,
} as const;

/** Why the fast path stopped: thrown internally, caught once at the top. */
export const GIVE_UP = Symbol('give up');

/**
 * One column being filled: its value buffer (by kind), validity bitmap and nulls. Every
 * field is set in the constructor so all columns share one shape and the per-field code
 * stays monomorphic.
 */
export class Column {
  readonly validity: Uint8Array;
  nulls = 0;
  readonly ints: Int32Array;
  readonly longs: BigInt64Array;
  readonly halves: Int32Array;
  readonly floats: Float64Array;
  readonly bits: Uint8Array;
  /** String data, its used length, and the offsets (rows + 1). */
  data: Uint8Array;
  /** `data` as a DataView, for the four-bytes-at-a-time copy (csv-typed-fields.ts stringField). */
  view: DataView;
  used = 0;
  readonly offsets: Int32Array;

  constructor(
    readonly kind: number,
    capacity: number,
    stringBytes: number,
  ) {
    const none = new Uint8Array(0);
    this.validity = allValid(capacity);
    this.data = kind === K_STRING ? new Uint8Array(Math.max(64, stringBytes)) : none;
    this.view = new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    this.offsets = new Int32Array(kind === K_STRING ? capacity + 1 : 0);
    this.longs = new BigInt64Array(kind === K_INT64 || kind === K_TIMESTAMP ? capacity : 0);
    this.halves = new Int32Array(this.longs.buffer);
    this.ints = new Int32Array(kind === K_INT32 || kind === K_DATE ? capacity : 0);
    this.floats = new Float64Array(kind === K_FLOAT ? capacity : 0);
    this.bits = kind === K_BOOL ? new Uint8Array(Math.ceil(capacity / 8)) : none;
  }
}

/** Room for `n` more string bytes in `col`. */
export function reserve(col: Column, n: number): Uint8Array {
  const data = col.data;
  const need = col.used + n;
  if (need <= data.length) return data;
  if (need > 0x7fffffff) throw GIVE_UP; // the general parser says why
  let size = data.length * 2;
  while (size < need) size *= 2;
  const grown = new Uint8Array(Math.min(size, 0x7fffffff));
  grown.set(data.subarray(0, col.used));
  col.data = grown;
  col.view = new DataView(grown.buffer);
  return grown;
}

/** Convert field `bytes[s, e)` of row `row` into `col`; an empty field is null. */
export function store(col: Column, bytes: Uint8Array, s: number, e: number, row: number): void {
  if (s === e) {
    setNull(col, row);
    return;
  }
  switch (col.kind) {
    case K_STRING: {
      const len = e - s;
      const data = reserve(col, len);
      let w = col.used;
      if (len <= 32) for (let i = s; i < e; i++) data[w++] = bytes[i] as number;
      else {
        data.set(bytes.subarray(s, e), w);
        w += len;
      }
      col.used = w;
      col.offsets[row + 1] = w;
      return;
    }
    case K_INT64: {
      const v = parseIntBytes(bytes, s, e);
      if (v === undefined) throw GIVE_UP;
      setInt64(col.longs, col.halves, row, v);
      return;
    }
    case K_INT32: {
      const v = parseIntBytes(bytes, s, e);
      if (typeof v !== 'number' || v > 2147483647 || v < -2147483648) throw GIVE_UP;
      col.ints[row] = v;
      return;
    }
    case K_FLOAT: {
      const v = parseFloatBytes(bytes, s, e);
      if (Number.isNaN(v)) throw GIVE_UP;
      col.floats[row] = v;
      return;
    }
    case K_BOOL: {
      const v = parseBoolBytes(bytes, s, e);
      if (v < 0) throw GIVE_UP;
      if (v === 1) {
        const bits = col.bits;
        bits[row >> 3] = (bits[row >> 3] as number) | (1 << (row & 7));
      }
      return;
    }
    case K_DATE: {
      const v = parseDateBytes(bytes, s, e);
      if (Number.isNaN(v) || v > 2147483647 || v < -2147483648) throw GIVE_UP;
      col.ints[row] = v;
      return;
    }
    default: {
      const v = parseTimestampBytes(bytes, s, e);
      if (typeof v === 'number' && Number.isNaN(v)) throw GIVE_UP;
      setInt64(col.longs, col.halves, row, v);
    }
  }
}

/** Row `row` of `col` is null (string columns repeat the previous offset). */
export function setNull(col: Column, row: number): void {
  const v = col.validity;
  v[row >> 3] = (v[row >> 3] as number) & ~(1 << (row & 7));
  col.nulls++;
  if (col.kind === K_STRING) col.offsets[row + 1] = col.used;
}

/** A quoted string field with `""` escapes, unescaped into `col`. */
export function storeEscaped(col: Column, bytes: Uint8Array, s: number, e: number, row: number): void {
  if (s === e) {
    setNull(col, row);
    return;
  }
  const data = reserve(col, e - s);
  let w = col.used;
  for (let i = s; i < e; i++) {
    const c = bytes[i] as number;
    data[w++] = c;
    if (c === QUOTE) i++;
  }
  col.used = w;
  col.offsets[row + 1] = w;
}

/** The Arrow data of a filled column of `rows` rows (buffers cut to size without copying). */
export function finish(col: Column, type: DatasetSchema[number]['type'], rows: number): Data {
  const validity = col.nulls > 0 ? col.validity.subarray(0, Math.ceil(rows / 8)) : null;
  if (type === 'string') {
    const offsets = col.offsets.subarray(0, rows + 1);
    // Most of a column's buffer is used (it grows by doubling from an even share of the
    // input): a view spares copying it; a mostly empty one is copied to size.
    const data =
      col.used * 2 >= col.data.length ? col.data.subarray(0, col.used) : col.data.slice(0, col.used);
    return utf8Data(rows, col.nulls, validity, offsets, data);
  }
  const k = col.kind;
  const values =
    k === K_INT64 || k === K_TIMESTAMP
      ? col.longs.subarray(0, rows)
      : k === K_INT32 || k === K_DATE
        ? col.ints.subarray(0, rows)
        : k === K_FLOAT
          ? col.floats.subarray(0, rows)
          : col.bits.subarray(0, Math.ceil(rows / 8));
  return fixedColumn(type, rows, { values, validity, nullCount: col.nulls });
}

export function utf8Data(
  length: number,
  nullCount: number,
  validity: Uint8Array | null,
  valueOffsets: Int32Array,
  data: Uint8Array,
): Data {
  return makeData({
    type: new Utf8(),
    length,
    nullCount,
    nullBitmap: validity ?? undefined,
    valueOffsets,
    data,
  });
}
