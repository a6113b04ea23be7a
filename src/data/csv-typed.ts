/**
 * The fast path of parsing a CSV against a known schema (the owner-signed one, at upload
 * and in every job that reads a sealed CSV): one pass over the bytes that finds each field
 * and converts it straight into its column, with no per-field position arrays (csv-scan.ts
 * records three per field, 9 bytes a field of fresh memory to fill and read back) and no
 * strings.
 *
 * It only ever succeeds with exactly what the general parser (csv.ts) returns, because it
 * uses the same value conversions (csv-values.ts, dates.ts) and gives up — returning
 * undefined — at anything it does not handle the common way: a malformed row, a value that
 * does not parse, a header other than the schema's, quoted fields with `""` escapes in a
 * non-string column, line ends other than LF or CRLF. The caller then runs the general
 * parser, which either succeeds or throws its error naming the row and column. So errors
 * and their order are those of the general parser by construction, and the fast path holds
 * no error handling of its own.
 */
import { type Data, makeData, Utf8 } from 'apache-arrow';
import { allValid, fixedColumn, setInt64, tableFromColumns } from './columns.ts';
import { fieldText } from './csv-scan.ts';
import { parseBoolBytes, parseFloatBytes, parseIntBytes } from './csv-values.ts';
import { parseDateBytes, parseTimestampBytes } from './dates.ts';
import { assertColumnNames } from './names.ts';
import type { DatasetSchema, ParsedDataset } from './schema.ts';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
/** Powers of ten a fraction of up to 15 digits divides by. */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Bytes that end an unquoted field or must not appear in one. */
const SPECIAL = new Uint8Array(256);
SPECIAL[COMMA] = 1;
SPECIAL[LF] = 1;
SPECIAL[CR] = 1;
SPECIAL[QUOTE] = 1;

const K_STRING = 0;
const K_INT64 = 1;
const K_INT32 = 2;
const K_FLOAT = 3;
const K_BOOL = 4;
const K_DATE = 5;
const K_TIMESTAMP = 6;

const KINDS = {
  string: K_STRING,
  int64: K_INT64,
  int32: K_INT32,
  float64: K_FLOAT,
  bool: K_BOOL,
  date: K_DATE,
  timestamp: K_TIMESTAMP,
} as const;

/** Why the fast path stopped: thrown internally, caught once at the top. */
const GIVE_UP = Symbol('give up');

/**
 * One column being filled: its value buffer (by kind), validity bitmap and nulls. Every
 * field is set in the constructor so all columns share one shape and the per-field code
 * stays monomorphic.
 */
class Column {
  readonly validity: Uint8Array;
  nulls = 0;
  readonly ints: Int32Array;
  readonly longs: BigInt64Array;
  readonly halves: Int32Array;
  readonly floats: Float64Array;
  readonly bits: Uint8Array;
  /** String data, its used length, and the offsets (rows + 1). */
  data: Uint8Array;
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
    this.offsets = new Int32Array(kind === K_STRING ? capacity + 1 : 0);
    this.longs = new BigInt64Array(kind === K_INT64 || kind === K_TIMESTAMP ? capacity : 0);
    this.halves = new Int32Array(this.longs.buffer);
    this.ints = new Int32Array(kind === K_INT32 || kind === K_DATE ? capacity : 0);
    this.floats = new Float64Array(kind === K_FLOAT ? capacity : 0);
    this.bits = kind === K_BOOL ? new Uint8Array(Math.ceil(capacity / 8)) : none;
  }
}

/** Room for `n` more string bytes in `col`. */
function reserve(col: Column, n: number): Uint8Array {
  const data = col.data;
  const need = col.used + n;
  if (need <= data.length) return data;
  if (need > 0x7fffffff) throw GIVE_UP; // the general parser says why
  let size = data.length * 2;
  while (size < need) size *= 2;
  const grown = new Uint8Array(Math.min(size, 0x7fffffff));
  grown.set(data.subarray(0, col.used));
  col.data = grown;
  return grown;
}

/** Number of LF bytes in `bytes[from, …)`. */
function countLines(bytes: Uint8Array, from: number): number {
  let count = 0;
  for (let p = bytes.indexOf(LF, from); p >= 0; p = bytes.indexOf(LF, p + 1)) count++;
  return count;
}

/** Set by quotedEnd: whether the quoted field just read holds `""` escapes. */
let escaped = false;

/** The closing quote of the quoted field opening at `open`; gives up when it is not closed. */
function quotedEnd(bytes: Uint8Array, open: number): number {
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

/**
 * Parse `bytes` (valid UTF-8, as the caller checked) as a CSV whose header is `schema`'s
 * names, each value converted to its column's type; undefined when anything is not the
 * common well-formed case, for the general parser to decide.
 */
export function parseCsvTyped(bytes: Uint8Array, schema: DatasetSchema): ParsedDataset | undefined {
  try {
    return parse(bytes, schema);
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

function parse(bytes: Uint8Array, schema: DatasetSchema): ParsedDataset {
  const n = bytes.length;
  if (n >= 0xffffffff) throw GIVE_UP;
  let pos = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (pos < n && (bytes[pos] === LF || bytes[pos] === CR)) pos++;
  pos = readHeader(bytes, pos, schema);
  const width = schema.length;
  const kinds = schema.map((c) => KINDS[c.type]);
  const capacity = countLines(bytes, pos) + 1;
  // String bytes: at most the rest of the file, shared out by the columns' count; grown on need.
  const guess = Math.ceil((n - pos) / width);
  const cols = kinds.map((k) => new Column(k, capacity, k === K_STRING ? guess : 0));
  let row = 0;
  while (pos < n) {
    const first = bytes[pos];
    if (first === LF || first === CR) {
      pos++;
      continue;
    }
    if (row === capacity) throw GIVE_UP; // lone CR line ends: rows beyond the LF count
    for (let c = 0; c < width; c++) {
      const col = cols[c] as Column;
      if (bytes[pos] === QUOTE) pos = quotedField(col, bytes, pos, row);
      else {
        switch (col.kind) {
          case K_STRING:
            pos = stringField(col, bytes, pos, n, row);
            break;
          case K_INT64:
            pos = int64Field(col, bytes, pos, n, row);
            break;
          case K_FLOAT:
            pos = floatField(col, bytes, pos, n, row);
            break;
          default: {
            const s = pos;
            while (pos < n && SPECIAL[bytes[pos] as number] === 0) pos++;
            store(col, bytes, s, pos, row);
          }
        }
      }
      // The delimiter: a comma between fields, a line end (or the end of the input) after the last.
      if (c < width - 1) {
        if (bytes[pos] !== COMMA) throw GIVE_UP;
        pos++;
      } else if (pos < n) {
        const d = bytes[pos];
        if (d === LF) pos++;
        else if (d === CR && bytes[pos + 1] === LF) pos += 2;
        else throw GIVE_UP;
      }
    }
    row++;
  }
  const columns: Data[] = cols.map((col, c) => finish(col, schema[c]?.type ?? 'string', row));
  return {
    table: tableFromColumns(
      schema.map((c) => c.name),
      columns,
      row,
    ),
    schema: schema.map((c) => ({ name: c.name, type: c.type })),
    rows: row,
  };
}

/** A quoted field at `pos` into `col`; returns the position after its closing quote. */
function quotedField(col: Column, bytes: Uint8Array, pos: number, row: number): number {
  const e = quotedEnd(bytes, pos);
  if (!escaped) store(col, bytes, pos + 1, e, row);
  else if (col.kind === K_STRING) storeEscaped(col, bytes, pos + 1, e, row);
  else throw GIVE_UP; // a `""` in a non-string column: the general parser names it
  return e + 1;
}

/** An unquoted string field at `pos`; returns its end. */
function stringField(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
  const s = pos;
  while (pos < n && SPECIAL[bytes[pos] as number] === 0) pos++;
  if (s === pos) {
    setNull(col, row);
    return pos;
  }
  const len = pos - s;
  const data = reserve(col, len);
  let w = col.used;
  if (len <= 32) for (let i = s; i < pos; i++) data[w++] = bytes[i] as number;
  else {
    data.set(bytes.subarray(s, pos), w);
    w += len;
  }
  col.used = w;
  col.offsets[row + 1] = w;
  return pos;
}

/**
 * An unquoted int64 field at `pos`; returns its end. Up to 15 digits are converted as they
 * are scanned (what parseIntBytes does for them); anything else goes through parseIntBytes.
 */
function int64Field(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
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
  while (p < n && SPECIAL[bytes[p] as number] === 0) p++;
  store(col, bytes, pos, p, row);
  return p;
}

/**
 * An unquoted float64 field at `pos`; returns its end. `[-+]digits[.digits]` of at most 15
 * digits is converted as it is scanned, by the same arithmetic as parseFloatBytes (the
 * digits as an integer, divided by the power of ten of the fraction's length); anything
 * else goes through parseFloatBytes.
 */
function floatField(col: Column, bytes: Uint8Array, pos: number, n: number, row: number): number {
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
  while (p < n && SPECIAL[bytes[p] as number] === 0) p++;
  store(col, bytes, pos, p, row);
  return p;
}

/** Check the header line at `pos` is exactly `schema`'s names; returns where the rows start. */
function readHeader(bytes: Uint8Array, pos: number, schema: DatasetSchema): number {
  const n = bytes.length;
  const names: string[] = [];
  for (;;) {
    let s = pos;
    let e: number;
    let flag = 0;
    if (bytes[pos] === QUOTE) {
      e = quotedEnd(bytes, pos);
      s = pos + 1;
      flag = escaped ? 2 : 1;
      pos = e + 1;
    } else {
      while (pos < n && SPECIAL[bytes[pos] as number] === 0) pos++;
      e = pos;
    }
    names.push(fieldText(bytes, s, e, flag));
    const d = bytes[pos];
    if (d === COMMA) {
      pos++;
      continue;
    }
    if (pos >= n) break;
    if (d === LF) pos++;
    else if (d === CR && bytes[pos + 1] === LF) pos += 2;
    else throw GIVE_UP;
    break;
  }
  if (names.length !== schema.length || names.some((name, i) => name !== schema[i]?.name)) throw GIVE_UP;
  try {
    assertColumnNames(names, 'CSV');
  } catch {
    throw GIVE_UP;
  }
  return pos;
}

/** Convert field `bytes[s, e)` of row `row` into `col`; an empty field is null. */
function store(col: Column, bytes: Uint8Array, s: number, e: number, row: number): void {
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
function setNull(col: Column, row: number): void {
  const v = col.validity;
  v[row >> 3] = (v[row >> 3] as number) & ~(1 << (row & 7));
  col.nulls++;
  if (col.kind === K_STRING) col.offsets[row + 1] = col.used;
}

/** A quoted string field with `""` escapes, unescaped into `col`. */
function storeEscaped(col: Column, bytes: Uint8Array, s: number, e: number, row: number): void {
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
function finish(col: Column, type: DatasetSchema[number]['type'], rows: number): Data {
  const validity = col.nulls > 0 ? col.validity.subarray(0, Math.ceil(rows / 8)) : null;
  if (type === 'string') {
    const offsets = col.offsets.subarray(0, rows + 1);
    return utf8Data(rows, col.nulls, validity, offsets, col.data.slice(0, col.used));
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

function utf8Data(
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
