/**
 * The streaming inspector's hot loop: scan whole CSV rows after the header and narrow each
 * column's type state as each field is met, in one pass over the bytes.
 *
 * scanCsv + narrowTypeMask do the same work in two passes and record three numbers per field
 * on the way (12 bytes a field, 60 M fields for a 10M-row file), which made the inspector
 * the slowest part of `obscura seal` (~150 MB/s against the cipher's ~700). Here nothing per
 * field is stored, columns already known to be text are only skipped over, and each value is
 * judged by the same rule (csv.ts narrowValueMask). The scan and its errors are scanCsv's,
 * line for line (RFC 4180, strict; errors name the row and column, never a value), so the
 * result and every error equal scanCsv + narrowTypeMask's: test/data/csv-inspect-rows.test.ts
 * checks that against the two-pass inspector kept as a reference.
 */
import { ANY_TYPE, BOOL, DATE, FLOAT, INT, narrowValueMask, SEEN } from './csv-types.ts';
import { csvError } from './csv-scan.ts';
import { parseBoolBytes } from './csv-values.ts';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

// The bytes that end an unquoted field or must not appear in one (COMMA, QUOTE, LF, CR) are
// all at most COMMA, so most bytes leave the field loops after one comparison: cheaper here
// than a lookup table, measured.
/** Byte classes, summed over a field: a value's shape in one number, with no second look. */
const DIGIT = 1;
const DOT = 1 << 8;
const OTHER = 1 << 16;

const INT_OR_FLOAT = INT | FLOAT;
const DATE_CLASSES = 8 * DIGIT + 2 * OTHER;
/** Days of each month (1-12) in every year: 29 February is left to narrowValueMask. */
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether the unquoted value `bytes[s, e)`, whose byte classes sum to `classes`, certainly
 * leaves the type bits `mask` as they are: the columns that stay int, float or date see this
 * on nearly every value. Only shapes narrowValueMask is sure to accept are taken (at most 15
 * digits, so no rounding or int64 range question; no 29 February, which needs the year);
 * anything else returns false and is judged by narrowValueMask itself.
 */
function keeps(bytes: Uint8Array, s: number, e: number, classes: number, mask: number): boolean {
  const len = e - s;
  if (len > 16) return false;
  if (mask === INT_OR_FLOAT) return classes === len && len <= 15;
  if (mask === FLOAT) return (classes === len && len <= 15) || (classes === len - 1 + DOT && len >= 2);
  if (mask === DATE) {
    if (len !== 10 || classes !== DATE_CLASSES || bytes[s + 4] !== 45 || bytes[s + 7] !== 45) return false;
    const m = ((bytes[s + 5] as number) - 48) * 10 + (bytes[s + 6] as number) - 48;
    const d = ((bytes[s + 8] as number) - 48) * 10 + (bytes[s + 9] as number) - 48;
    return m >= 1 && m <= 12 && d >= 1 && d <= (DAYS_IN_MONTH[m] as number);
  }
  if (mask === BOOL) return parseBoolBytes(bytes, s, e) >= 0;
  return false;
}

/**
 * Scan `bytes` (whole rows after the header, starting at a row boundary, valid UTF-8) and
 * narrow `states` (one per header column, as narrowTypeMask keeps them) in place; rows are
 * numbered from `firstRow` in errors. Returns the number of rows read (blank lines skipped).
 * Throws ObscuraError 'dataset_invalid' (422) at the first malformed row, as scanCsv does.
 */
export function inspectRows(
  bytes: Uint8Array,
  header: readonly string[],
  states: Int32Array,
  firstRow: number,
): number {
  const n = bytes.length;
  const columns = header.length;
  let pos = 0;
  let row = firstRow;
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
    let classes = 0;
    for (;;) {
      if (col >= columns) throw csvError(`has more than ${columns} fields`, row);
      const state = states[col] as number;
      let s: number;
      let e: number;
      let flag = 0;
      if (bytes[pos] === QUOTE) {
        s = pos + 1;
        let q = s;
        flag = 1;
        for (;;) {
          q = bytes.indexOf(QUOTE, q);
          if (q < 0) throw csvError('quoted field is not closed', row, header[col]);
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
            throw csvError('unexpected text after a closing quote', row, header[col]);
        }
      } else {
        s = pos;
        if ((state & ANY_TYPE) === 0) {
          for (; pos < n; pos++) {
            const c = bytes[pos] as number;
            if (c <= COMMA && (c === COMMA || c === QUOTE || c === LF || c === CR)) break;
          }
        } else {
          // Sum the byte classes on the way, so the common values are judged without a reparse
          // (fields over 16 bytes may wrap the sum, but keeps() never trusts those).
          for (; pos < n; pos++) {
            const c = bytes[pos] as number;
            if (c <= COMMA && (c === COMMA || c === QUOTE || c === LF || c === CR)) break;
            classes = (classes + ((c - 48) >>> 0 < 10 ? DIGIT : c === 46 ? DOT : OTHER)) | 0;
          }
        }
        if (pos < n && bytes[pos] === QUOTE)
          throw csvError('quote inside an unquoted field', row, header[col]);
        e = pos;
      }
      // A column whose type bits are all gone is text whatever follows: skip its values.
      const mask = state & ANY_TYPE;
      if (s !== e && mask !== 0 && !(flag === 0 && keeps(bytes, s, e, classes, mask)))
        states[col] = narrowValueMask(bytes, s, e, flag, mask) | SEEN;
      classes = 0;
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
    if (col !== columns) throw csvError(`has ${col} fields, the header has ${columns}`, row, header[col]);
    row++;
  }
  return row - firstRow;
}
