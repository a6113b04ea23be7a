/**
 * Arrow IPC (file and stream formats) → normalised Arrow table, with apache-arrow.
 * Columns already of a normalised type are kept as they are (their buffers belong to a
 * private copy of the input); others are converted: 8/16/32-bit integers → int32, uint32
 * and int64/uint64 → int64, half/single/double floats and decimals → float64, dates →
 * date (days), timestamps of any unit or zone → timestamp (µs, UTC), Utf8/LargeUtf8/
 * Utf8View/dictionary-of-strings → string, Null → an all-null string column. Anything
 * else (lists, structs, binary, …) is refused naming the column.
 */
import { isUtf8 } from 'node:buffer';
import {
  type Data,
  type DataType,
  type Decimal,
  type Dictionary,
  type Float,
  type Int,
  makeData,
  makeVector,
  Precision,
  type Table,
  type Timestamp,
  TimestampMicrosecond,
  TimeUnit,
  tableFromIPC,
  Type,
  DateUnit,
  type Date_,
} from 'apache-arrow';
import { ObscuraError } from '../common/errors.ts';
import {
  allValid,
  clearBit,
  fixedColumn,
  getBit,
  normalisedColumnType,
  tableFromBatches,
  Utf8ColumnBuilder,
} from './columns.ts';
import { assertColumnNames } from './names.ts';
import type { ColumnType, DatasetSchema, ParsedDataset } from './schema.ts';

const INT64_MAX = 9223372036854775807n;

function invalid(message: string, column?: string): ObscuraError {
  return new ObscuraError('dataset_invalid', message, 422, column !== undefined ? { column } : undefined);
}

/** The column type an Arrow type is normalised to, or undefined when it has none. */
export function arrowColumnType(type: DataType): ColumnType | undefined {
  switch (type.typeId) {
    case Type.Int: {
      const t = type as Int;
      return t.bitWidth < 32 || (t.bitWidth === 32 && t.isSigned) ? 'int32' : 'int64';
    }
    case Type.Float:
    case Type.Decimal:
      return 'float64';
    case Type.Bool:
      return 'bool';
    case Type.Date:
      return 'date';
    case Type.Timestamp:
      return 'timestamp';
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View:
    case Type.Null:
      return 'string';
    case Type.Dictionary:
      return arrowColumnType((type as Dictionary).dictionary) === 'string' ? 'string' : undefined;
    default:
      return undefined;
  }
}

/**
 * Parse Arrow IPC bytes (file or stream format). The result never aliases `bytes`
 * (callers may wipe them). Throws ObscuraError 'dataset_invalid' (422) for unreadable
 * input, unsupported column types, invalid UTF-8 and out-of-range values, naming the column.
 */
export function parseArrowIpc(bytes: Uint8Array): ParsedDataset {
  let table: Table;
  try {
    table = tableFromIPC(new Uint8Array(bytes)); // a private copy: Buffer#slice would alias
  } catch {
    throw invalid('Arrow IPC data could not be read');
  }
  const names = table.schema.fields.map((f) => f.name);
  assertColumnNames(names, 'Arrow');
  const schema: DatasetSchema = table.schema.fields.map((f) => {
    const type = arrowColumnType(f.type);
    if (!type)
      throw invalid(
        `Arrow column ${JSON.stringify(f.name)} has type ${String(f.type)}, which Obscura does not support`,
        f.name,
      );
    return { name: f.name, type };
  });
  const batches = table.batches.map((batch) => ({
    length: batch.numRows,
    columns: schema.map((col, i) => normaliseData(batch.data.children[i] as Data, col.type, col.name)),
  }));
  return { table: tableFromBatches(names, schema, batches), schema, rows: table.numRows };
}

/** One batch's column converted to the normalised type `target`. */
function normaliseData(data: Data, target: ColumnType, name: string): Data {
  const type = data.type as DataType;
  if (normalisedColumnType(type) === target) {
    if (target === 'string') assertUtf8(data, name);
    return data;
  }
  const n = data.length;
  const validity = allValid(n);
  let nullCount = 0;
  const valid = (i: number) =>
    data.nullCount === 0 || !data.nullBitmap || getBit(data.nullBitmap, data.offset + i);
  for (let i = 0; i < n; i++) {
    if (!valid(i)) {
      clearBit(validity, i);
      nullCount++;
    }
  }
  // apache-arrow slices fixed-width values to the Data's offset; only bitmaps count from it.
  const src = data.values as ArrayLike<number | bigint>;
  const at = (i: number) => src[i] as number | bigint;
  switch (type.typeId) {
    case Type.Int: {
      if (target === 'int32') {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = Number(at(i));
        return fixedColumn('int32', n, { values: out, validity, nullCount });
      }
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) continue;
        const v = BigInt(at(i));
        if (v > INT64_MAX)
          throw invalid(`Arrow column ${JSON.stringify(name)} has a value outside the int64 range`, name);
        out[i] = v;
      }
      return fixedColumn('int64', n, { values: out, validity, nullCount });
    }
    case Type.Float: {
      const out = new Float64Array(n);
      if ((type as Float).precision === Precision.HALF) {
        const vec = makeVector(data);
        for (let i = 0; i < n; i++) out[i] = valid(i) ? Number(vec.get(i)) : 0;
      } else {
        for (let i = 0; i < n; i++) out[i] = Number(at(i));
      }
      return fixedColumn('float64', n, { values: out, validity, nullCount });
    }
    case Type.Decimal: {
      const t = type as Decimal;
      const words = t.bitWidth / 32;
      const words32 = data.values as Uint32Array;
      const out = new Float64Array(n);
      const scale = 10 ** t.scale;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) continue;
        let v = 0n;
        const base = i * words;
        for (let w = words - 1; w >= 0; w--) v = (v << 32n) | BigInt(words32[base + w] as number);
        if (v >> BigInt(t.bitWidth - 1)) v -= 1n << BigInt(t.bitWidth);
        out[i] = Number(v) / scale;
      }
      return fixedColumn('float64', n, { values: out, validity, nullCount });
    }
    case Type.Date: {
      const out = new Int32Array(n);
      const ms = (type as Date_).unit === DateUnit.MILLISECOND;
      for (let i = 0; i < n; i++) {
        if (valid(i)) out[i] = ms ? Math.floor(Number(at(i)) / 86_400_000) : Number(at(i));
      }
      return fixedColumn('date', n, { values: out, validity, nullCount });
    }
    case Type.Timestamp: {
      const unit = (type as Timestamp).unit;
      if (unit === TimeUnit.MICROSECOND) {
        return makeData({
          type: new TimestampMicrosecond(),
          offset: data.offset,
          length: n,
          nullCount: data.nullCount,
          nullBitmap: data.nullBitmap,
          data: data.values as BigInt64Array,
        });
      }
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) continue;
        const v = BigInt(at(i));
        if (unit === TimeUnit.SECOND) out[i] = v * 1_000_000n;
        else if (unit === TimeUnit.MILLISECOND) out[i] = v * 1000n;
        else out[i] = v >= 0n ? v / 1000n : -((-v + 999n) / 1000n);
      }
      return fixedColumn('timestamp', n, { values: out, validity, nullCount });
    }
    default:
      return stringsOf(data, name);
  }
}

/** Any string-like column (or Null) as Utf8, through apache-arrow's value getters. */
function stringsOf(data: Data, name: string): Data {
  const vec = makeVector(data);
  const b = new Utf8ColumnBuilder(data.length, data.length * 8);
  for (let i = 0; i < data.length; i++) {
    const v = data.typeId === Type.Null ? null : vec.get(i);
    if (v === null || v === undefined) b.appendNull();
    else if (typeof v === 'string') b.appendString(v);
    else throw invalid(`Arrow column ${JSON.stringify(name)} holds a non-string value`, name);
  }
  return b.finish();
}

/** Refuse a Utf8 column whose bytes are not valid UTF-8 or whose offsets split a character. */
function assertUtf8(data: Data, name: string): void {
  const offsets = data.valueOffsets as Int32Array; // already sliced to the Data's offset
  const values = data.values as Uint8Array;
  const first = offsets[0] as number;
  const last = offsets[data.length] as number;
  let ok = first >= 0 && last <= values.length && first <= last && isUtf8(values.subarray(first, last));
  for (let i = 0; ok && i <= data.length; i++) {
    const o = offsets[i] as number;
    if (o < first || o > last || (i > 0 && o < (offsets[i - 1] as number))) ok = false;
    else if (o < last && ((values[o] as number) & 0xc0) === 0x80) ok = false;
  }
  if (!ok) throw invalid(`Arrow column ${JSON.stringify(name)} is not valid UTF-8`, name);
}
