/**
 * The fast path of parsing a CSV against a known schema (the owner-signed one, at upload
 * and in every job that reads a sealed CSV): one pass over the bytes that finds each field
 * and converts it straight into its column, with no per-field position arrays (csv-scan.ts
 * records three per field, 9 bytes a field of fresh memory to fill and read back) and no
 * strings.
 *
 * It only ever succeeds with exactly what the general parser (csv.ts) returns, because it
 * uses the same value conversions (csv-values.ts, dates.ts) or, for the common forms it
 * converts as it scans, the same arithmetic (property tests hold it to the general path),
 * and gives up — returning
 * undefined — at anything it does not handle the common way: a malformed row, a value that
 * does not parse, a header other than the schema's, quoted fields with `""` escapes in a
 * non-string column, line ends other than LF or CRLF. The caller then runs the general
 * parser, which either succeeds or throws its error naming the row and column. So errors
 * and their order are those of the general parser by construction, and the fast path holds
 * no error handling of its own.
 *
 * Here: the row loop and the header; csv-typed-fields.ts reads each field,
 * csv-typed-column.ts holds the columns being filled.
 */
import type { Data } from 'apache-arrow';
import { tableFromColumns } from './columns.ts';
import { fieldText } from './csv-scan.ts';
import {
  COMMA,
  Column,
  CR,
  finish,
  GIVE_UP,
  K_BOOL,
  K_DATE,
  K_FLOAT,
  K_INT64,
  K_STRING,
  KINDS,
  LF,
  QUOTE,
  SPECIAL,
} from './csv-typed-column.ts';
import {
  boolField,
  dateField,
  escaped,
  floatField,
  genericField,
  int64Field,
  quotedEnd,
  quotedField,
  stringField,
} from './csv-typed-fields.ts';
import { assertColumnNames } from './names.ts';
import type { DatasetSchema, ParsedDataset } from './schema.ts';

/** Number of LF bytes in `bytes[from, …)`. */
function countLines(bytes: Uint8Array, from: number): number {
  let count = 0;
  for (let p = bytes.indexOf(LF, from); p >= 0; p = bytes.indexOf(LF, p + 1)) count++;
  return count;
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
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
            pos = stringField(col, bytes, src, pos, n, row);
            break;
          case K_INT64:
            pos = int64Field(col, bytes, pos, n, row);
            break;
          case K_FLOAT:
            pos = floatField(col, bytes, pos, n, row);
            break;
          case K_DATE:
            pos = dateField(col, bytes, pos, n, row);
            break;
          case K_BOOL:
            pos = boolField(col, bytes, pos, n, row);
            break;
          default:
            pos = genericField(col, bytes, pos, n, row);
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
