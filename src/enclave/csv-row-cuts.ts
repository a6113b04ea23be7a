/**
 * Where a CSV's store chunks begin, found as its plaintext is decrypted (a block at a time,
 * on the enclave's thread while the block threads decrypt the next ones): the end of every
 * STORE_CHUNK_ROWS-th row. Cut there, each piece the parse threads get is exactly one chunk
 * of the store, which the thread that parsed it also seals (csv-worker.ts), and the store is
 * the one the enclave's thread would write: chunks of STORE_CHUNK_ROWS rows, the last one
 * shorter, so a chunk's size shows the host no more than it did (docs/threat-model.md).
 *
 * Rows are counted as line ends, which holds only for the plain form: no double quote (a
 * quoted field may hold a line end), no carriage return, no blank line, no BOM. Any of those
 * and there is no plan: the CSV is parsed as before and the store cut by row count on the
 * enclave's thread (write.ts). The parse itself decides every value and error either way.
 */
import type { PiecePlan } from './csv-pieces.ts';

const LF = 0x0a;
const QUOTE = 0x22;
const CR = 0x0d;
const BLANK = Buffer.from('\n\n');

/** Counts a CSV's rows as its blocks go by, in order, keeping where each chunk of `chunkRows` ends. */
export class RowCuts {
  private lines = 0;
  private header = -1;
  private readonly cuts: number[] = [];
  private plain = true;
  private last = -1;

  constructor(private readonly chunkRows: number) {}

  /** The plaintext block at byte `at` (blocks in order, none skipped). */
  feed(block: Uint8Array, at: number): void {
    if (!this.plain || block.length === 0) return;
    const b = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    if (
      (at === 0 && (b[0] === LF || b[0] === 0xef)) ||
      (this.last === LF && b[0] === LF) ||
      b.indexOf(QUOTE) >= 0 ||
      b.indexOf(CR) >= 0 ||
      b.indexOf(BLANK) >= 0
    ) {
      this.plain = false;
      return;
    }
    const every = this.chunkRows;
    let lines = this.lines;
    for (let p = b.indexOf(LF); p >= 0; p = b.indexOf(LF, p + 1)) {
      lines++;
      // Line 1 is the header; data row r (from 1) ends at line end r + 1.
      if (lines === 1) this.header = at + p + 1;
      else if ((lines - 1) % every === 0) this.cuts.push(at + p + 1);
    }
    this.lines = lines;
    this.last = b[b.length - 1] as number;
  }

  /** The pieces of the `length` bytes fed: one a chunk; undefined unless plain and more than one chunk. */
  plan(length: number): PiecePlan | undefined {
    if (!this.plain || this.header < 0) return undefined;
    const ranges: [number, number][] = [];
    let from = this.header;
    for (const cut of this.cuts) {
      ranges.push([from, cut]);
      from = cut;
    }
    if (from < length) ranges.push([from, length]);
    return ranges.length < 2 ? undefined : { header: this.header, ranges };
  }
}
