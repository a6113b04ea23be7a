/**
 * Parquet → normalised Arrow table, with hyparquet (a pure-JS reader: no native code, no
 * file access; it reads from an in-memory ArrayBuffer). Flat schemas only. Physical and
 * logical types map onto the column types: integers of up to 32 bits → int32, wider (and
 * UINT_32) → int64, FLOAT/DOUBLE/DECIMAL/FLOAT16 → float64, DATE → date, TIMESTAMP and
 * INT96 → timestamp (µs), BOOLEAN → bool, UTF8/STRING/ENUM/JSON/UUID and plain BYTE_ARRAY
 * → string. Uncompressed and Snappy pages are supported (hyparquet's built-ins).
 */
import type { Data } from 'apache-arrow';
import { parquetMetadata, parquetRead, parquetSchema, type SchemaElement } from 'hyparquet';
import { ObscuraError } from '../common/errors.ts';
import { allValid, clearBit, fixedColumn, setBit, tableFromColumns, Utf8ColumnBuilder } from './columns.ts';
import { assertColumnNames } from './names.ts';
import type { ColumnType, DatasetSchema, ParsedDataset } from './schema.ts';

const SUPPORTED_CODECS = new Set(['UNCOMPRESSED', 'SNAPPY']);
const INT64_MAX = 9223372036854775807n;
const decoder = new TextDecoder();

function invalid(message: string, details?: Record<string, unknown>): ObscuraError {
  return new ObscuraError('dataset_invalid', message, 422, details);
}

/** The column type a flat Parquet column maps to, or undefined when it has none. */
export function parquetColumnType(el: SchemaElement): ColumnType | undefined {
  const { type, converted_type: ct, logical_type: lt } = el;
  const lti = lt?.type;
  if (
    ct === 'UTF8' ||
    ct === 'ENUM' ||
    ct === 'JSON' ||
    lti === 'STRING' ||
    lti === 'ENUM' ||
    lti === 'JSON' ||
    lti === 'UUID'
  ) {
    return 'string';
  }
  if (ct === 'DATE' || lti === 'DATE') return 'date';
  if (ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS' || lti === 'TIMESTAMP' || type === 'INT96')
    return 'timestamp';
  if (ct === 'DECIMAL' || lti === 'DECIMAL' || lti === 'FLOAT16' || type === 'FLOAT' || type === 'DOUBLE')
    return 'float64';
  if (ct?.startsWith('TIME_') || lti === 'TIME' || lti === 'INTERVAL' || ct === 'INTERVAL') return undefined;
  const unsigned = ct?.startsWith('UINT_') || (lti === 'INTEGER' && !lt?.isSigned);
  switch (type) {
    case 'BOOLEAN':
      return 'bool';
    case 'INT32':
      return unsigned && (ct === 'UINT_32' || (lti === 'INTEGER' && lt?.bitWidth === 32)) ? 'int64' : 'int32';
    case 'INT64':
      return 'int64';
    case 'BYTE_ARRAY':
      return lti === undefined && ct === undefined ? 'string' : undefined;
    default:
      return undefined;
  }
}

const PARSERS = {
  timestampFromMilliseconds: (ms: bigint) => BigInt(ms) * 1000n,
  timestampFromMicroseconds: (us: bigint) => BigInt(us),
  timestampFromNanoseconds: (ns: bigint) => {
    const n = BigInt(ns);
    return n >= 0n ? n / 1000n : -((-n + 999n) / 1000n);
  },
  dateFromDays: (days: number) => days,
  jsonFromBytes: (bytes: Uint8Array) => bytes && decoder.decode(bytes),
};

interface Piece {
  rowStart: number;
  data: ArrayLike<unknown>;
}

/**
 * Parse Parquet bytes. The result never aliases `bytes` (callers may wipe them).
 * Throws ObscuraError 'dataset_invalid' (422) for unreadable files, nested or unsupported
 * column types, unsupported compression and out-of-range values, naming the column.
 */
export async function parseParquet(bytes: Uint8Array): Promise<ParsedDataset> {
  const copy = new Uint8Array(bytes); // a copy (Buffer#slice would be a view)
  try {
    const file = copy.buffer;
    let metadata: ReturnType<typeof parquetMetadata>;
    try {
      metadata = parquetMetadata(file);
    } catch {
      throw invalid('Parquet footer could not be read');
    }
    const rows = Number(metadata.num_rows);
    const tree = parquetSchema(metadata);
    const names = tree.children.map((c) => c.element.name);
    assertColumnNames(names, 'Parquet');
    const schema: DatasetSchema = tree.children.map((child) => {
      const name = child.element.name;
      const type =
        child.children.length === 0 && child.element.repetition_type !== 'REPEATED'
          ? parquetColumnType(child.element)
          : undefined;
      if (!type)
        throw invalid(`Parquet column ${JSON.stringify(name)} has a type Obscura does not support`, {
          column: name,
        });
      return { name, type };
    });
    for (const group of metadata.row_groups) {
      for (const chunk of group.columns) {
        const codec = chunk.meta_data?.codec;
        if (codec && !SUPPORTED_CODECS.has(codec)) {
          const column = chunk.meta_data?.path_in_schema.join('.');
          throw invalid(
            `Parquet column ${JSON.stringify(column)} is compressed with ${codec}; use Snappy or no compression`,
            { column, codec },
          );
        }
      }
    }
    const pieces = new Map<string, Piece[]>(names.map((n) => [n, []]));
    try {
      await parquetRead({
        file,
        metadata,
        parsers: PARSERS,
        onChunk: (c) => pieces.get(c.columnName)?.push({ rowStart: c.rowStart, data: c.columnData }),
      });
    } catch {
      throw invalid('Parquet data pages could not be decoded');
    }
    const columns = schema.map((col) => buildColumn(col.name, col.type, rows, pieces.get(col.name) ?? []));
    return { table: tableFromColumns(names, columns, rows), schema, rows };
  } finally {
    copy.fill(0);
  }
}

/** One normalised column from hyparquet's decoded pieces (typed arrays or arrays with nulls). */
function buildColumn(name: string, type: ColumnType, rows: number, pieces: Piece[]): Data {
  const present = new Uint8Array(Math.ceil(rows / 8));
  const outOfRange = (): never => {
    throw invalid(`Parquet column ${JSON.stringify(name)} has a value outside the ${type} range`, {
      column: name,
    });
  };
  if (type === 'string') {
    const strings: (string | null)[] = new Array(rows).fill(null);
    for (const p of pieces) {
      for (let i = 0; i < p.data.length && p.rowStart + i < rows; i++) {
        const v = p.data[i];
        if (v !== null && v !== undefined) strings[p.rowStart + i] = String(v);
      }
    }
    const b = new Utf8ColumnBuilder(rows, rows * 8);
    for (const s of strings) {
      if (s === null) b.appendNull();
      else b.appendString(s);
    }
    return b.finish();
  }
  const ints = type === 'int32' || type === 'date' ? new Int32Array(rows) : undefined;
  const longs = type === 'int64' || type === 'timestamp' ? new BigInt64Array(rows) : undefined;
  const floats = type === 'float64' ? new Float64Array(rows) : undefined;
  const bits = type === 'bool' ? new Uint8Array(Math.ceil(rows / 8)) : undefined;
  for (const p of pieces) {
    for (let i = 0; i < p.data.length && p.rowStart + i < rows; i++) {
      const v = p.data[i];
      if (v === null || v === undefined) continue;
      const r = p.rowStart + i;
      setBit(present, r);
      if (ints) ints[r] = Number(v);
      else if (floats) floats[r] = Number(v);
      else if (bits) {
        if (v === true) setBit(bits, r);
      } else if (longs) {
        const big = BigInt(v as number | bigint);
        if (big > INT64_MAX) outOfRange();
        longs[r] = big;
      }
    }
  }
  const validity = allValid(rows);
  let nullCount = 0;
  for (let r = 0; r < rows; r++) {
    if (!((present[r >> 3] as number) & (1 << (r & 7)))) {
      clearBit(validity, r);
      nullCount++;
    }
  }
  return fixedColumn(type as Exclude<ColumnType, 'string'>, rows, {
    values: (ints ?? longs ?? floats ?? bits) as Int32Array,
    validity,
    nullCount,
  });
}
