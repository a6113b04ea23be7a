/**
 * inspectCsv, streaming: the schema and row count of a CSV fed block by block, in one pass
 * and in memory flat in the file's size, so `obscura seal` learns what its manifest records
 * while it hashes and encrypts the same blocks (no second read, no whole-file buffer).
 *
 * Blocks are cut at the last line feed outside quotes; the rows before the cut are scanned in
 * place and each column's type state narrowed in the same pass (csv-inspect-rows.ts; the
 * header's block by csv-scan.ts and csv.ts), and the partial row after the cut waits for the
 * next block. The
 * result equals inspectCsv on the whole file; for a malformed file the error code is the same
 * (the first error met in file order is reported, so its message may differ).
 */
import { isUtf8 } from 'node:buffer';
import { ObscuraError } from '../common/errors.ts';
import { ANY_TYPE, narrowTypeMask, typeOfMask } from './csv-types.ts';
import { inspectRows } from './csv-inspect-rows.ts';
import { scanCsv } from './csv-scan.ts';
import { assertColumnNames } from './names.ts';
import type { DatasetSchema } from './schema.ts';

const LF = 10;
const CR = 13;
const QUOTE = 34;
/** A row (or a quote left open) longer than this is refused rather than buffered further. */
const MAX_ROW_BYTES = 64 * 1024 * 1024;

/** Number of `"` bytes in `bytes[from, to)`. */
function quotes(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let q = bytes.indexOf(QUOTE, from); q >= 0 && q < to; q = bytes.indexOf(QUOTE, q + 1)) n++;
  return n;
}

/** Feed a CSV in order with `push`, then `end` for its schema and row count. */
export class CsvInspector {
  #header: string[] | null = null;
  #states = new Int32Array(0);
  #rows = 0;
  #fileStart = true;
  /** The partial row carried from the previous block, and whether it holds an odd number of quotes. */
  #carry: Buffer = Buffer.alloc(0);
  #carryOdd = false;

  /** Take the next block; throws dataset_invalid (422) at the first malformed row met. */
  push(block: Uint8Array): void {
    // The last line feed with an even number of quotes before it (counting the carry's) ends
    // the rows this block completes.
    let cut = block.lastIndexOf(LF);
    let odd = this.#carryOdd !== (quotes(block, 0, cut) % 2 === 1);
    while (cut >= 0 && odd) {
      const prev = cut === 0 ? -1 : block.lastIndexOf(LF, cut - 1);
      if (quotes(block, prev + 1, cut) % 2 === 1) odd = !odd;
      cut = prev;
    }
    if (cut < 0) {
      this.#carry = Buffer.concat([this.#carry, block]);
      this.#carryOdd = this.#carryOdd !== (quotes(block, 0, block.length) % 2 === 1);
      if (this.#carry.length > MAX_ROW_BYTES) {
        this.#region(this.#carry); // reports the row's error, if it is malformed
        throw new ObscuraError('dataset_invalid', `CSV has a row longer than ${MAX_ROW_BYTES} bytes`, 422);
      }
      return;
    }
    if (this.#carry.length > 0) {
      // Complete the carried row with the block's first line end outside quotes (before `cut`).
      let first = block.indexOf(LF);
      while (this.#carryOdd !== (quotes(block, 0, first) % 2 === 1)) first = block.indexOf(LF, first + 1);
      this.#region(Buffer.concat([this.#carry, block.subarray(0, first + 1)]));
      if (first < cut) this.#region(block.subarray(first + 1, cut + 1));
    } else {
      this.#region(block.subarray(0, cut + 1));
    }
    this.#carry = Buffer.from(block.subarray(cut + 1));
    this.#carryOdd = quotes(this.#carry, 0, this.#carry.length) % 2 === 1;
  }

  /** The schema and row count, as inspectCsv reports them for the whole input. */
  end(): { schema: DatasetSchema; rows: number } {
    if (this.#carry.length > 0) this.#region(this.#carry);
    this.#carry = Buffer.alloc(0);
    const whole = this.sample();
    if (!whole) throw new ObscuraError('dataset_invalid', 'CSV has no header row', 422);
    return whole;
  }

  /**
   * The schema of the whole rows pushed so far, for a sample of a file (the partial row after
   * the last block's cut is left out: a value cut short would narrow its column's type), and
   * how many rows that is; null while no header was complete.
   */
  sample(): { schema: DatasetSchema; rows: number } | null {
    const header = this.#header;
    if (!header) return null;
    return {
      schema: header.map((name, c) => ({ name, type: typeOfMask(this.#states[c] ?? 0) })),
      rows: this.#rows,
    };
  }

  /** Scan whole rows `bytes` (starting at a row boundary) and narrow the column types. */
  #region(bytes: Uint8Array): void {
    if (this.#fileStart && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
      bytes = bytes.subarray(3);
    this.#fileStart = false;
    if (!isUtf8(bytes)) throw new ObscuraError('dataset_invalid', 'CSV is not valid UTF-8', 422);
    if (this.#header) {
      this.#rows += inspectRows(bytes, this.#header, this.#states, this.#rows + 1);
      return;
    }
    // Blank lines before the header are skipped, as scanCsv does. The header's region is
    // scanned in two passes (once per file); the rest in one (csv-inspect-rows.ts).
    if (bytes.every((b) => b === LF || b === CR)) return;
    const fields = scanCsv(bytes, { firstRow: 1 });
    assertColumnNames(fields.header, 'CSV');
    this.#header = fields.header;
    this.#states = Int32Array.from(fields.header, (_, c) => narrowTypeMask(bytes, fields, c, ANY_TYPE));
    this.#rows += fields.rows;
  }
}
