/**
 * Building normalised Arrow columns from raw buffers. Every dataset, whatever its format,
 * ends up as Arrow columns of exactly these types: Utf8, Int32, Int64, Float64, Bool,
 * Date32<DAY> and Timestamp<MICROSECOND> (no zone, UTC). Validity bitmaps follow the
 * Arrow layout (bit i set = row i valid, least significant bit first).
 */
import {
  Bool,
  type Data,
  DateDay,
  type Dictionary,
  type DataType,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  TimeUnit,
  Type,
  Utf8,
} from 'apache-arrow';
import type { ColumnType } from './schema.ts';

/** The Arrow type a normalised column of type `t` has. */
export function arrowTypeFor(t: ColumnType): DataType {
  switch (t) {
    case 'string':
      return new Utf8();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'date':
      return new DateDay();
    case 'timestamp':
      return new TimestampMicrosecond();
  }
}

/** The column type of an already normalised Arrow type, or undefined when it is not one. */
export function normalisedColumnType(type: DataType): ColumnType | undefined {
  switch (type.typeId) {
    case Type.Utf8:
      return 'string';
    case Type.Int:
      if ((type as Int32).isSigned && (type as Int32).bitWidth === 32) return 'int32';
      if ((type as Int64).isSigned && (type as Int64).bitWidth === 64) return 'int64';
      return undefined;
    case Type.Float:
      return (type as Float64).precision === 2 ? 'float64' : undefined;
    case Type.Bool:
      return 'bool';
    case Type.Date:
      return (type as DateDay).unit === 0 ? 'date' : undefined;
    case Type.Timestamp:
      return (type as TimestampMicrosecond).unit === TimeUnit.MICROSECOND &&
        !(type as TimestampMicrosecond).timezone
        ? 'timestamp'
        : undefined;
    default:
      return undefined;
  }
}

/**
 * The column type DuckDB's load and scan take a column of this Arrow type as: a normalised
 * type, or a string column dictionary-encoded by the enclave's store (Utf8 values, Int8
 * indices).
 */
export function scannableColumnType(type: DataType): ColumnType | undefined {
  if (type.typeId === Type.Dictionary) {
    const dict = type as Dictionary;
    return dict.dictionary.typeId === Type.Utf8 && dict.indices.bitWidth === 8 && dict.indices.isSigned
      ? 'string'
      : undefined;
  }
  return normalisedColumnType(type);
}

/** A nullable column being filled row by row: a value buffer and a validity bitmap. */
export interface ColumnBuffers {
  /** Typed values (Int32Array, BigInt64Array, Float64Array, bit-packed Uint8Array for bool). */
  values: Int32Array | BigInt64Array | Float64Array | Uint8Array;
  /** Validity bitmap, or null when every row is valid. */
  validity: Uint8Array | null;
  nullCount: number;
}

/** A validity bitmap of `length` rows, all valid. */
export function allValid(length: number): Uint8Array {
  return new Uint8Array(Math.ceil(length / 8)).fill(0xff);
}

/** Clear bit `i` of a bitmap. */
export function clearBit(bitmap: Uint8Array, i: number): void {
  bitmap[i >> 3] = (bitmap[i >> 3] as number) & ~(1 << (i & 7));
}

/** Set bit `i` of a bitmap. */
export function setBit(bitmap: Uint8Array, i: number): void {
  bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
}

/** Read bit `i` of a bitmap. */
export function getBit(bitmap: Uint8Array, i: number): boolean {
  return ((bitmap[i >> 3] as number) & (1 << (i & 7))) !== 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Store `v` (a number, safe integer, or a bigint) at `longs[i]`. Numbers avoid allocating
 * a BigInt: they are written as two 32-bit halves through `halves`, an Int32Array view of
 * the same buffer.
 */
export function setInt64(longs: BigInt64Array, halves: Int32Array, i: number, v: number | bigint): void {
  if (typeof v === 'bigint' || !LITTLE_ENDIAN) {
    longs[i] = BigInt(v);
    return;
  }
  halves[2 * i] = v >>> 0;
  halves[2 * i + 1] = Math.floor(v / 4294967296);
}

/** Arrow Data for a fixed-width normalised column (every type but string). */
export function fixedColumn(
  type: Exclude<ColumnType, 'string'>,
  length: number,
  buffers: ColumnBuffers,
): Data {
  const nullBitmap = buffers.nullCount > 0 && buffers.validity ? buffers.validity : undefined;
  const nullCount = nullBitmap ? buffers.nullCount : 0;
  const v = buffers.values;
  switch (type) {
    case 'int32':
      return makeData({ type: new Int32(), length, nullCount, nullBitmap, data: v as Int32Array });
    case 'int64':
      return makeData({ type: new Int64(), length, nullCount, nullBitmap, data: v as BigInt64Array });
    case 'float64':
      return makeData({ type: new Float64(), length, nullCount, nullBitmap, data: v as Float64Array });
    case 'bool':
      return makeData({ type: new Bool(), length, nullCount, nullBitmap, data: v as Uint8Array });
    case 'date':
      return makeData({ type: new DateDay(), length, nullCount, nullBitmap, data: v as Int32Array });
    case 'timestamp':
      return makeData({
        type: new TimestampMicrosecond(),
        length,
        nullCount,
        nullBitmap,
        data: v as BigInt64Array,
      });
  }
}

/** A one-batch Arrow table of the given columns (names in order, all of `length` rows). */
export function tableFromColumns(names: readonly string[], columns: readonly Data[], length: number): Table {
  return tableFromBatches(
    names,
    columns.map((c) => ({ type: normalisedColumnType(c.type) as ColumnType })),
    [{ length, columns }],
  );
}

/**
 * An Arrow table of normalised columns split into record batches (possibly none).
 * `arrowTypes` overrides a column's Arrow type where given: the store's dictionary-encoded
 * string columns (enclave/store/dictionary.ts), read as strings.
 */
export function tableFromBatches(
  names: readonly string[],
  types: readonly { type: ColumnType }[],
  batches: readonly { length: number; columns: readonly Data[] }[],
  arrowTypes: readonly (DataType | undefined)[] = [],
): Table {
  const fields = names.map(
    (name, i) =>
      new Field(name, arrowTypes[i] ?? arrowTypeFor((types[i] as { type: ColumnType }).type), true),
  );
  const schema = new Schema(fields);
  const records = batches.map(({ length, columns }) => {
    const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children: [...columns] });
    return new RecordBatch(schema, struct);
  });
  return new Table(schema, records);
}

/**
 * Accumulates UTF-8 strings into Arrow Utf8 buffers (int32 offsets and one data buffer).
 * Throws RangeError past 2 GiB of string data in one column, the int32 offset limit.
 */
export class Utf8ColumnBuilder {
  private data: Uint8Array;
  private readonly offsets: Int32Array;
  private readonly validity: Uint8Array;
  private used = 0;
  private row = 0;
  private nulls = 0;

  constructor(
    readonly length: number,
    initialBytes = 1024,
  ) {
    this.data = new Uint8Array(Math.max(16, initialBytes));
    this.offsets = new Int32Array(length + 1);
    this.validity = allValid(length);
  }

  /** Append the UTF-8 bytes `src[start, end)` as the next row. */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.reserve(n);
    const data = this.data;
    if (n <= 32) {
      // A short loop beats making a subarray view for the typical short field.
      for (let i = 0, w = this.used; i < n; i++) data[w + i] = src[start + i] as number;
    } else {
      data.set(src.subarray(start, end), this.used);
    }
    this.used += n;
    this.offsets[++this.row] = this.used;
  }

  /** Append a JS string (encoded as UTF-8) as the next row. */
  appendString(s: string): void {
    this.reserve(s.length * 3);
    this.used += encoder.encodeInto(s, this.data.subarray(this.used)).written;
    this.offsets[++this.row] = this.used;
  }

  /** Append a null as the next row. */
  appendNull(): void {
    clearBit(this.validity, this.row);
    this.nulls++;
    this.offsets[++this.row] = this.used;
  }

  /** Reserve room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.used + n;
    if (need <= this.data.length) return;
    if (need > 0x7fffffff) throw new RangeError('string column exceeds 2 GiB');
    let size = this.data.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(Math.min(size, 0x7fffffff));
    grown.set(this.data.subarray(0, this.used));
    this.data = grown;
  }

  /** Writable view of the next `n` reserved bytes, committed with `commit`. */
  scratch(n: number): Uint8Array {
    this.reserve(n);
    return this.data.subarray(this.used, this.used + n);
  }

  /** Commit `n` bytes written into `scratch` as the next row. */
  commit(n: number): void {
    this.used += n;
    this.offsets[++this.row] = this.used;
  }

  /** The finished column. Throws if fewer rows than `length` were appended. */
  finish(): Data<Utf8> {
    if (this.row !== this.length) throw new Error(`string column has ${this.row} of ${this.length} rows`);
    return makeData({
      type: new Utf8(),
      length: this.length,
      nullCount: this.nulls,
      nullBitmap: this.nulls > 0 ? this.validity : undefined,
      valueOffsets: this.offsets,
      data: this.data.slice(0, this.used),
    });
  }
}

const encoder = new TextEncoder();
