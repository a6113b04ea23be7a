/**
 * The exact row count of a CSV fed block by block, without parsing it: what `obscura seal`
 * records in the manifest when it learns the schema from a sample (seal-dataset.ts), at the
 * speed of a word loop rather than the inspector's field-by-field scan (csv-inspect-rows.ts,
 * ~420 MB/s here, the slowest part of sealing a large CSV).
 *
 * Rows, as inspectCsv counts them, are the maximal runs of bytes that hold no row end: LF or
 * CR outside quotes (a lone CR, CRLF and LF all end a row; blank lines and a file's final
 * line without LF are handled by the same rule; a BOM at the file's start is dropped, as
 * inspectCsv drops it). The first run is the header. So a block without any `"` byte (found
 * by Buffer's native indexOf) needs no parser: its row starts are its non-line-end bytes
 * that follow a line end, counted four bytes at a time with bit tricks (SWAR over 32-bit
 * words, ~1.5 GB/s here). A block with quotes is scanned byte by byte, tracking whether it
 * is inside a quoted field.
 *
 * The step is one self-contained function over a state array (no imports, no free names but
 * JavaScript's own), so the sealing threads can run it from its source text on the blocks they
 * have just read and hashed (crypto/age/block-worker.ts), as they run the cipher loops.
 *
 * For a well-formed CSV the count equals inspectCsv's exactly (test/data/csv-row-count.test.ts
 * holds it to that on random CSVs). A malformed file is not detected here: the enclave parses
 * every row against the signed schema at upload and refuses it there.
 */

/** Words of a counting state: row starts, then flags and the file's first bytes (see countRowsStep). */
export const ROW_COUNT_STATE_WORDS = 7;

/**
 * Count the row starts of `block`, the next bytes of a CSV in file order, into `state` (a
 * Float64Array of ROW_COUNT_STATE_WORDS zeros to start; it may live in shared memory): [0] row
 * starts so far, the header's included;
 * [1] 1 when the last byte seen is inside a row (0: it ended one, or none was seen); [2] 1 inside a quoted field; [3] how many of the file's first 3 bytes were held
 * (3: decided), [4..6] those bytes, held to drop a BOM.
 */
export function countRowsStep(state: Float64Array, block: Uint8Array): void {
  // Here, not at the top of the file, since the sealing threads run this function's text alone.
  const LF = 10;
  const CR = 13;
  const QUOTE = 34;
  // The file's first three bytes wait until it is known whether they are a BOM.
  if ((state[3] as number) < 3) {
    let i = 0;
    while ((state[3] as number) < 3 && i < block.length) {
      state[4 + (state[3] as number)] = block[i++] as number;
      state[3] = (state[3] as number) + 1;
    }
    if ((state[3] as number) < 3) return;
    const bom = state[4] === 0xef && state[5] === 0xbb && state[6] === 0xbf;
    if (!bom) countRowsStep(state, Uint8Array.of(state[4] as number, state[5] as number, state[6] as number));
    block = block.subarray(i);
  }
  const n = block.length;
  if (n === 0) return;
  let runs = state[0] as number;
  let afterEnd = state[1] === 0;
  let inQuote = state[2] === 1;
  if (inQuote || block.indexOf(QUOTE) >= 0) {
    // Quotes: byte by byte, a line end inside a quoted field kept in its row.
    for (let i = 0; i < n; i++) {
      const c = block[i] as number;
      if (c === QUOTE) inQuote = !inQuote;
      const end = !inQuote && (c === LF || c === CR);
      if (!end && afterEnd) runs++;
      afterEnd = end;
    }
  } else {
    const hasCr = block.indexOf(CR) >= 0;
    const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    let i = 0;
    // Bytes up to a 4-byte boundary of the underlying buffer, then whole words, then the tail.
    const head = Math.min(n, (4 - (block.byteOffset & 3)) & 3);
    for (; i < head; i++) {
      const c = block[i] as number;
      const end = c === LF || c === CR;
      if (!end && afterEnd) runs++;
      afterEnd = end;
    }
    // The word loop reads bytes in little-endian order (every platform Node runs on here).
    const words = little ? (n - i) >>> 2 : 0;
    if (words > 0) {
      const w32 = new Int32Array(block.buffer, block.byteOffset + i, words);
      // Row starts times two, plus 1 when the last byte ends a row (a loop of its own, which
      // V8 optimises apart from this function's: about twice as fast here, measured).
      const r = hasCr ? wordsLfCr(w32, afterEnd) : wordsLf(w32, afterEnd);
      runs += Math.floor(r / 2);
      afterEnd = r % 2 === 1;
      i += words * 4;
    }
    for (; i < n; i++) {
      const c = block[i] as number;
      const end = c === LF || c === CR;
      if (!end && afterEnd) runs++;
      afterEnd = end;
    }
  }
  state[0] = runs;
  state[1] = afterEnd ? 0 : 1;
  state[2] = inQuote ? 1 : 0;

  /** Row starts in words holding no quote and no CR (LF ends rows), the byte before them a row end when `after`. */
  function wordsLf(w32: Int32Array, after: boolean): number {
    // Constants of its own: the outer function's would be context loads in the loop.
    const HIGH = 0x80808080;
    const ONES = 0x01010101;
    const LOW7 = 0x7f7f7f7f;
    const LFS = 0x0a0a0a0a;
    // The previous byte's "is a line end" bit, where the next word's first byte looks for it.
    let carry = after ? 0x80 : 0;
    let count = 0;
    for (let k = 0; k < w32.length; k++) {
      const a = (w32[k] as number) ^ LFS;
      // Most words hold no line end: then a row starts at their first byte or nowhere.
      if (((a - ONES) & ~a & HIGH) === 0) {
        if (carry !== 0) count++;
        carry = 0;
        continue;
      }
      // High bit of each byte set where the byte is LF (exact: no carry crosses bytes).
      const ends = ~(((a & LOW7) + LOW7) | a) & HIGH;
      const starts = ~ends & ((ends << 8) | carry) & HIGH;
      count += Math.imul(starts >>> 7, ONES) >>> 24;
      carry = ends >>> 31 === 1 ? 0x80 : 0;
    }
    return count * 2 + (carry !== 0 ? 1 : 0);
  }

  /** wordsLf for words that may hold CR bytes, each a row end as LF is. */
  function wordsLfCr(w32: Int32Array, after: boolean): number {
    // Constants of its own: the outer function's would be context loads in the loop.
    const HIGH = 0x80808080;
    const ONES = 0x01010101;
    const LOW7 = 0x7f7f7f7f;
    const LFS = 0x0a0a0a0a;
    const CRS = 0x0d0d0d0d;
    let carry = after ? 0x80 : 0;
    let count = 0;
    for (let k = 0; k < w32.length; k++) {
      const w = w32[k] as number;
      const a = w ^ LFS;
      const b = w ^ CRS;
      if (((((a - ONES) & ~a) | ((b - ONES) & ~b)) & HIGH) === 0) {
        if (carry !== 0) count++;
        carry = 0;
        continue;
      }
      const ends = ~((((a & LOW7) + LOW7) | a) & (((b & LOW7) + LOW7) | b)) & HIGH;
      const starts = ~ends & ((ends << 8) | carry) & HIGH;
      count += Math.imul(starts >>> 7, ONES) >>> 24;
      carry = ends >>> 31 === 1 ? 0x80 : 0;
    }
    return count * 2 + (carry !== 0 ? 1 : 0);
  }
}

/** Data rows counted in a countRowsStep state: the runs after the header's. */
export function countedRows(state: Float64Array): number {
  return Math.max(0, (state[0] as number) - 1);
}

/** Count the rows of a CSV pushed block by block on this thread (countRowsStep over a state of its own). */
export class CsvRowCounter {
  readonly #state = new Float64Array(ROW_COUNT_STATE_WORDS);

  /** Take the next block, in file order. */
  push(block: Uint8Array): void {
    countRowsStep(this.#state, block);
  }

  /** Data rows of the bytes pushed so far (runs after the header's); 0 while there is no header. */
  get rows(): number {
    return countedRows(this.#state);
  }
}
