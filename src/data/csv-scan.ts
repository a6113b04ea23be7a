/**
 * A byte-level CSV scanner (RFC 4180: comma separator, `"` quoting with `""` escapes,
 * CRLF or LF line ends, optional UTF-8 BOM). It records where each field lies in the
 * input instead of making strings, so a million-row file is scanned in tens of
 * milliseconds; csv.ts then converts each column straight from the bytes.
 *
 * Strict where RFC 4180 is: a quote inside an unquoted field, text after a closing
 * quote, an unclosed quote and a row whose field count differs from the header are
 * errors. Blank lines are skipped. Errors name the row (1 = first data row) and the
 * column, never the field's content.
 */
import { ObscuraError } from '../common/errors.ts';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Field `k = row * columns + col` lies at `bytes[starts[k], ends[k])`. */
export interface CsvFields {
  header: string[];
  rows: number;
  starts: Uint32Array;
  ends: Uint32Array;
  /** Per field: 0 unquoted, 1 quoted, 2 quoted with `""` escapes inside. */
  flags: Uint8Array;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Error for a malformed CSV at data row `row` (0 = header) and column `column`. */
export function csvError(message: string, row: number, column?: string): ObscuraError {
  const where = row === 0 ? 'header row' : `row ${row}`;
  return new ObscuraError(
    'dataset_invalid',
    `CSV ${where}${column !== undefined ? `, column ${JSON.stringify(column)}` : ''}: ${message}`,
    422,
    column !== undefined ? { row, column, problem: message } : { row, problem: message },
  );
}

/**
 * A csvError as the enclave may tell the host: without the row, which would be a fact about
 * one row of the dataset (that its value in a column is malformed, or not a number). The
 * owner finds the row on their own machine (`obscura seal --full-check` names it). Any other
 * error is returned as it is.
 */
export function csvErrorWithoutRow(e: ObscuraError): ObscuraError {
  const { row, column, problem } = e.details ?? {};
  if (e.code !== 'dataset_invalid' || typeof row !== 'number' || row === 0 || typeof problem !== 'string')
    return e;
  const where = typeof column === 'string' ? `, column ${JSON.stringify(column)}` : '';
  return new ObscuraError(e.code, `CSV, a row${where}: ${problem}`, e.status);
}

/** Copy `bytes[s, e)` into `out` at `at`, turning each `""` into `"`; returns the length written. */
export function unescapeInto(bytes: Uint8Array, s: number, e: number, out: Uint8Array, at: number): number {
  let w = at;
  for (let i = s; i < e; i++) {
    const c = bytes[i] as number;
    out[w++] = c;
    if (c === QUOTE) i++;
  }
  return w - at;
}

/** Decode field `[s, e)` (with `flag` as in CsvFields) to a string. */
export function fieldText(bytes: Uint8Array, s: number, e: number, flag: number): string {
  if (flag !== 2) return decoder.decode(bytes.subarray(s, e));
  const out = new Uint8Array(e - s);
  return decoder.decode(out.subarray(0, unescapeInto(bytes, s, e, out, 0)));
}

/** Bytes that end an unquoted field or must not appear in one. */
const SPECIAL = new Uint8Array(256);
SPECIAL[COMMA] = 1;
SPECIAL[LF] = 1;
SPECIAL[CR] = 1;
SPECIAL[QUOTE] = 1;

/** Number of LF bytes in `bytes[from, …)`: an upper bound on the remaining rows, minus one. */
function countLines(bytes: Uint8Array, from: number): number {
  let count = 0;
  for (let p = bytes.indexOf(LF, from); p >= 0; p = bytes.indexOf(LF, p + 1)) count++;
  return count;
}

/**
 * Where a piece of a CSV sits in the whole, for scanning it piece by piece (csv-stream.ts):
 * the header already read, the number of the piece's first data row, and field arrays to
 * reuse (fresh memory is expensive to touch on these machines: parts.md).
 */
export interface ScanContinuation {
  /** Absent while the header is still to come (then read from these bytes). */
  header?: string[];
  firstRow: number;
  reuse?: Pick<CsvFields, 'starts' | 'ends' | 'flags'>;
}

/**
 * Scan a whole CSV. The first non-blank line is the header. Throws ObscuraError
 * 'dataset_invalid' (422) naming the row and column of the first malformed field.
 * Expects valid UTF-8 (the caller checks); inputs must be under 4 GiB.
 * With `from`, `bytes` is a piece of a CSV that starts at a row boundary, after any byte
 * order mark (the caller strips it), and after the header when `from.header` is given; rows
 * are numbered from `from.firstRow` in errors.
 */
export function scanCsv(bytes: Uint8Array, from?: ScanContinuation): CsvFields {
  const n = bytes.length;
  if (n >= 0xffffffff) throw new ObscuraError('dataset_invalid', 'CSV is larger than 4 GiB', 413);
  let pos = !from && n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let header: string[] | undefined = from?.header;
  let columns = header?.length ?? 0;
  const firstRow = from?.firstRow ?? 1;
  let row = header ? firstRow : 0; // 0 while reading the header
  let capacity = from?.reuse?.starts.length ?? 64;
  let starts = from?.reuse?.starts ?? new Uint32Array(capacity);
  let ends = from?.reuse?.ends ?? new Uint32Array(capacity);
  let flags = from?.reuse?.flags ?? new Uint8Array(capacity);
  let size = 0;
  while (pos < n) {
    const first = bytes[pos];
    if (first === LF) {
      pos++;
      continue;
    }
    if (first === CR) {
      pos += bytes[pos + 1] === LF ? 2 : 1;
      continue;
    }
    let col = 0;
    for (;;) {
      if (header && col >= columns) throw csvError(`has more than ${columns} fields`, row);
      let s: number;
      let e: number;
      let flag = 0;
      if (bytes[pos] === QUOTE) {
        s = pos + 1;
        let q = s;
        flag = 1;
        for (;;) {
          q = bytes.indexOf(QUOTE, q);
          if (q < 0) throw csvError('quoted field is not closed', row, header?.[col]);
          if (bytes[q + 1] === QUOTE) {
            flag = 2;
            q += 2;
            continue;
          }
          break;
        }
        e = q;
        pos = q + 1;
        if (pos < n) {
          const c = bytes[pos];
          if (c !== COMMA && c !== LF && c !== CR)
            throw csvError('unexpected text after a closing quote', row, header?.[col]);
        }
      } else {
        s = pos;
        while (pos < n && SPECIAL[bytes[pos] as number] === 0) pos++;
        if (pos < n && bytes[pos] === QUOTE)
          throw csvError('quote inside an unquoted field', row, header?.[col]);
        e = pos;
      }
      if (size === capacity) {
        capacity *= 2;
        const grownStarts = new Uint32Array(capacity);
        grownStarts.set(starts);
        starts = grownStarts;
        const grownEnds = new Uint32Array(capacity);
        grownEnds.set(ends);
        ends = grownEnds;
        const grownFlags = new Uint8Array(capacity);
        grownFlags.set(flags);
        flags = grownFlags;
      }
      starts[size] = s;
      ends[size] = e;
      flags[size] = flag;
      size++;
      col++;
      if (pos >= n) break;
      const c = bytes[pos];
      if (c === COMMA) {
        pos++;
        continue;
      }
      if (c === CR) pos += bytes[pos + 1] === LF ? 2 : 1;
      else pos++; // LF
      break;
    }
    if (!header) {
      header = [];
      for (let k = 0; k < col; k++)
        header.push(fieldText(bytes, starts[k] as number, ends[k] as number, flags[k] as number));
      columns = col;
      size = 0;
      // Size the field arrays once: at most one row per remaining line.
      capacity = Math.max(64, (countLines(bytes, pos) + 1) * columns);
      starts = new Uint32Array(capacity);
      ends = new Uint32Array(capacity);
      flags = new Uint8Array(capacity);
    } else if (col !== columns) {
      throw csvError(`has ${col} fields, the header has ${columns}`, row, header[col]);
    }
    row++;
  }
  if (!header) throw new ObscuraError('dataset_invalid', 'CSV has no header row', 422);
  return { header, rows: row - firstRow, starts, ends, flags };
}
