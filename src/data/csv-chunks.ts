/**
 * Splitting a CSV byte stream into chunks of whole rows, each a CSV of its own (the header
 * row, then rows), so a dataset larger than memory can be parsed and aggregated a chunk at
 * a time. A row ends at a newline outside double quotes: a quoted field may hold newlines
 * (`""` inside quotes toggles twice, so it needs no special case). The bytes pass through
 * in memory only, each scanned once.
 */

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** Scanning state: where the scan is, and whether it is inside quotes there. */
interface Scan {
  at: number;
  inQuote: boolean;
}

/**
 * Just past the first row end at or after `from` in `buf` (continuing `scan`), or -1 with
 * `scan` at the end. The quote state jumps to `from`: each quote on the way toggles it, and
 * the newlines before it are not looked at (before, each was found in turn: a call per row,
 * ~0.08 CPU s of the enclave's thread for a 10M-row upload streamed in chunks).
 */
function rowEndFrom(buf: Buffer, from: number, scan: Scan): number {
  const n = buf.length;
  // The first newline that can end the row sought is at from - 1.
  let i = Math.max(scan.at, Math.min(from - 1, n));
  let quote = buf.indexOf(QUOTE, scan.at);
  while (quote >= 0 && quote < i) {
    scan.inQuote = !scan.inQuote;
    quote = buf.indexOf(QUOTE, quote + 1);
  }
  while (i < n) {
    if (scan.inQuote) {
      if (quote < 0) break;
      scan.inQuote = false;
      i = quote + 1;
      quote = buf.indexOf(QUOTE, i);
      continue;
    }
    const lf = buf.indexOf(NEWLINE, i);
    if (quote >= 0 && (lf < 0 || quote < lf)) {
      scan.inQuote = true;
      i = quote + 1;
      quote = buf.indexOf(QUOTE, i);
    } else if (lf >= 0) {
      scan.at = lf + 1;
      return lf + 1;
    } else break;
  }
  scan.at = n;
  return -1;
}

/**
 * Yield `source` as standalone CSVs of whole rows, each ending at the first row end past
 * `targetBytes` of rows (a longer row makes a longer chunk). The header row starts every
 * chunk; an input with no data rows yields itself once.
 *
 * Each chunk is a view of one buffer that is reused for the next (the header kept at its
 * start, the rows gathered after it in place): no fresh memory per chunk, which on these
 * machines costs more than the copy itself (first-touch page faults). So a consumer must be
 * done with a chunk — parsed it, and wiped it if it likes — before it asks for the next;
 * every consumer here parses each chunk into new memory at once.
 */
export async function* csvChunks(
  source: AsyncIterable<Uint8Array>,
  targetBytes: number,
): AsyncGenerator<Buffer> {
  let buf = Buffer.allocUnsafe(Math.max(64 * 1024, targetBytes + 64 * 1024));
  let len = 0;
  let header: Buffer | undefined;
  let yielded = false;
  const scan: Scan = { at: 0, inQuote: false };
  try {
    for await (const piece of source) {
      if (len + piece.length > buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, len + piece.length));
        buf.copy(grown, 0, 0, len);
        buf.fill(0, 0, len);
        buf = grown;
      }
      buf.set(piece, len);
      len += piece.length;
      if (!header) {
        const end = rowEndFrom(buf.subarray(0, len), 0, scan);
        if (end < 0) continue;
        header = Buffer.from(buf.subarray(0, end));
      }
      const h = header.length;
      while (len - h >= targetBytes) {
        const end = rowEndFrom(buf.subarray(0, len), h + targetBytes, scan);
        if (end < 0) break;
        yielded = true;
        yield buf.subarray(0, end);
        // The consumer may have wiped the chunk: the header goes back in front of the rest.
        buf.copyWithin(h, end, len);
        buf.fill(0, h + len - end, len);
        len = h + len - end;
        buf.set(header, 0);
        scan.at = h;
        scan.inQuote = false;
      }
    }
    if (!header) {
      if (len > 0) yield buf.subarray(0, len);
      return;
    }
    if (len > header.length || !yielded) yield buf.subarray(0, len);
  } finally {
    buf.fill(0, 0, len);
  }
}

/**
 * A CSV held whole, cut into pieces of whole rows of about `targetBytes` each, for parsing
 * the pieces side by side: the header row's end, and each piece's [start, end) (ends just
 * past a newline outside double quotes, as csvChunks cuts). Header plus a piece is a
 * standalone CSV. One pass over the quotes and the cut points: the next quote is found
 * once and kept, so a file without quotes is searched for one once.
 */
export function csvRowRanges(
  bytes: Uint8Array,
  targetBytes: number,
): { header: number; ranges: [number, number][] } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  let quote = buf.indexOf(QUOTE, 0);
  let inQuote = false;
  // Just past the first newline outside quotes at or after `from`, or n.
  const endFrom = (from: number): number => {
    // The quote state at `from`: every quote before it toggles it.
    while (quote >= 0 && quote < from) {
      inQuote = !inQuote;
      quote = buf.indexOf(QUOTE, quote + 1);
    }
    let i = from;
    for (;;) {
      if (inQuote) {
        if (quote < 0) return n;
        inQuote = false;
        i = quote + 1;
        quote = buf.indexOf(QUOTE, i);
        continue;
      }
      const lf = buf.indexOf(NEWLINE, i);
      if (lf < 0) return n;
      if (quote >= 0 && quote < lf) {
        inQuote = true;
        i = quote + 1;
        quote = buf.indexOf(QUOTE, i);
        continue;
      }
      return lf + 1;
    }
  };
  const header = endFrom(0);
  const ranges: [number, number][] = [];
  for (let at = header; at < n; ) {
    const end = at + targetBytes >= n ? n : endFrom(at + targetBytes);
    ranges.push([at, end]);
    at = end;
  }
  return { header, ranges };
}
