/**
 * CSV → normalised Arrow table. The header row names the columns. Without an expected
 * schema each column's type is inferred from all its values: `bool` (true/false), then
 * `int64`, `float64`, `date` (YYYY-MM-DD), `timestamp` (ISO 8601), else `string`; an
 * empty field is null and an all-null column is a string column. With an expected schema
 * (the one the owner signed) the header must match it and each value must parse as its
 * column's type. Errors name the row and the column, never a value.
 */
import { isUtf8 } from 'node:buffer';
import type { Data } from 'apache-arrow';
import { ObscuraError } from '../common/errors.ts';
import {
  allValid,
  clearBit,
  fixedColumn,
  setBit,
  setInt64,
  tableFromColumns,
  Utf8ColumnBuilder,
} from './columns.ts';
import { type CsvFields, csvError, scanCsv, unescapeInto } from './csv-scan.ts';
import { parseCsvTyped } from './csv-typed.ts';
import { parseBoolBytes, parseFloatBytes, parseIntBytes } from './csv-values.ts';
import { parseDateBytes, parseTimestampBytes } from './dates.ts';
import { assertColumnNames } from './names.ts';
import { ANY_TYPE, narrowTypeMask, typeOfMask } from './csv-types.ts';
import type { ColumnType, DatasetSchema, ParsedDataset } from './schema.ts';

/** Parse CSV bytes; throws ObscuraError 'dataset_invalid' (422) naming the row and column at fault. */
export function parseCsv(bytes: Uint8Array, expected?: DatasetSchema): ParsedDataset {
  if (!isUtf8(bytes)) throw new ObscuraError('dataset_invalid', 'CSV is not valid UTF-8', 422);
  // The one-pass path for the common case (csv-typed.ts); anything else, and every error, is
  // decided by the general path.
  return (expected && parseCsvTyped(bytes, expected)) || parseCsvGeneral(bytes, expected);
}

/**
 * parseCsv's general path: scan the whole file for its fields (csv-scan.ts), then convert
 * column by column. Expects valid UTF-8. Exported so tests can hold the fast path to it.
 */
export function parseCsvGeneral(bytes: Uint8Array, expected?: DatasetSchema): ParsedDataset {
  const fields = scanCsv(bytes);
  const { header, rows } = fields;
  assertColumnNames(header, 'CSV');
  if (expected) {
    const names = expected.map((c) => c.name);
    if (names.length !== header.length || names.some((n, i) => n !== header[i])) {
      throw new ObscuraError(
        'dataset_invalid',
        `CSV header does not match the expected columns ${JSON.stringify(names)}`,
        422,
        {
          expected: names,
          header,
        },
      );
    }
  }
  const schema: DatasetSchema = [];
  const columns: Data[] = [];
  header.forEach((name, c) => {
    const type = expected ? (expected[c]?.type as ColumnType) : inferType(bytes, fields, c);
    schema.push({ name, type });
    columns.push(buildColumn(bytes, fields, c, type, name));
  });
  return { table: tableFromColumns(header, columns, rows), schema, rows };
}

/**
 * The schema and row count `parseCsv` would report, without building the columns: the same
 * UTF-8 check, scan, name rules and type inference (which already reads every value), so
 * the owner's `seal` learns what its manifest records at about half the cost of a full
 * parse. Throws the same errors for malformed CSV.
 */
export function inspectCsv(bytes: Uint8Array): { schema: DatasetSchema; rows: number } {
  if (!isUtf8(bytes)) throw new ObscuraError('dataset_invalid', 'CSV is not valid UTF-8', 422);
  const fields = scanCsv(bytes);
  assertColumnNames(fields.header, 'CSV');
  const schema = fields.header.map((name, c) => ({ name, type: inferType(bytes, fields, c) }));
  return { schema, rows: fields.rows };
}

/** The narrowest type every non-empty value of column `c` parses as. */
function inferType(bytes: Uint8Array, f: CsvFields, c: number): ColumnType {
  return typeOfMask(narrowTypeMask(bytes, f, c, ANY_TYPE));
}

/** Convert column `c` to Arrow as `type`; throws 'dataset_invalid' at the first value that does not parse. */
function buildColumn(bytes: Uint8Array, f: CsvFields, c: number, type: ColumnType, name: string): Data {
  const rows = f.rows;
  const width = f.header.length;
  if (type === 'string') return buildStrings(bytes, f, c);
  const validity = allValid(rows);
  let nullCount = 0;
  const bad = (r: number): never => {
    throw csvError(`value is not a valid ${type}`, r + 1, name);
  };
  const ints = type === 'int32' || type === 'date' ? new Int32Array(rows) : undefined;
  const longs = type === 'int64' || type === 'timestamp' ? new BigInt64Array(rows) : undefined;
  const halves = longs ? new Int32Array(longs.buffer) : undefined;
  const floats = type === 'float64' ? new Float64Array(rows) : undefined;
  const bits = type === 'bool' ? new Uint8Array(Math.ceil(rows / 8)) : undefined;
  for (let r = 0, k = c; r < rows; r++, k += width) {
    const s = f.starts[k] as number;
    const e = f.ends[k] as number;
    if (s === e) {
      clearBit(validity, r);
      nullCount++;
      continue;
    }
    if (f.flags[k] === 2) bad(r);
    switch (type) {
      case 'int64': {
        const v = parseIntBytes(bytes, s, e);
        if (v === undefined) bad(r);
        setInt64(longs as BigInt64Array, halves as Int32Array, r, v as number | bigint);
        break;
      }
      case 'int32': {
        const v = parseIntBytes(bytes, s, e);
        if (typeof v !== 'number' || v > 2147483647 || v < -2147483648) bad(r);
        (ints as Int32Array)[r] = v as number;
        break;
      }
      case 'float64': {
        const v = parseFloatBytes(bytes, s, e);
        if (Number.isNaN(v)) bad(r);
        (floats as Float64Array)[r] = v;
        break;
      }
      case 'bool': {
        const v = parseBoolBytes(bytes, s, e);
        if (v < 0) bad(r);
        if (v === 1) setBit(bits as Uint8Array, r);
        break;
      }
      case 'date': {
        const v = parseDateBytes(bytes, s, e);
        if (Number.isNaN(v) || v > 2147483647 || v < -2147483648) bad(r);
        (ints as Int32Array)[r] = v;
        break;
      }
      case 'timestamp': {
        const v = parseTimestampBytes(bytes, s, e);
        if (typeof v === 'number' && Number.isNaN(v)) bad(r);
        setInt64(longs as BigInt64Array, halves as Int32Array, r, v);
        break;
      }
    }
  }
  const values = (ints ?? longs ?? floats ?? bits) as Int32Array;
  return fixedColumn(type, rows, { values, validity, nullCount });
}

/** Column `c` as Arrow Utf8, copying the UTF-8 bytes of each field (unescaping `""`). */
function buildStrings(bytes: Uint8Array, f: CsvFields, c: number): Data {
  const width = f.header.length;
  let total = 0;
  for (let r = 0, k = c; r < f.rows; r++, k += width)
    total += (f.ends[k] as number) - (f.starts[k] as number);
  const out = new Utf8ColumnBuilder(f.rows, total);
  for (let r = 0, k = c; r < f.rows; r++, k += width) {
    const s = f.starts[k] as number;
    const e = f.ends[k] as number;
    if (s === e) out.appendNull();
    else if (f.flags[k] === 2) {
      const scratch = out.scratch(e - s);
      out.commit(unescapeInto(bytes, s, e, scratch, 0));
    } else out.appendBytes(bytes, s, e);
  }
  return out.finish();
}
