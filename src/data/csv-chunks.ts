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

/** Just past the first row end at or after `from` in `buf` (continuing `scan`), or -1 with `scan` at the end. */
function rowEndFrom(buf: Buffer, from: number, scan: Scan): number {
  let i = scan.at;
  // The next quote is searched for once and kept until passed: searching again at every
  // newline would scan to the end of a quote-free buffer once per row.
  let quote = -2;
  while (i < buf.length) {
    if (quote !== -1 && quote < i) quote = buf.indexOf(QUOTE, i);
    if (scan.inQuote) {
      if (quote < 0) break;
      scan.inQuote = false;
      i = quote + 1;
      continue;
    }
    const n = buf.indexOf(NEWLINE, i);
    if (quote >= 0 && (n < 0 || quote < n)) {
      scan.inQuote = true;
      i = quote + 1;
    } else if (n >= 0) {
      i = n + 1;
      if (i >= from) {
        scan.at = i;
        return i;
      }
    } else break;
  }
  scan.at = buf.length;
  return -1;
}

/**
 * Yield `source` as standalone CSVs of whole rows, each ending at the first row end past
 * `targetBytes` of rows (a longer row makes a longer chunk). The header row starts every
 * chunk; an input with no data rows yields itself once.
 */
export async function* csvChunks(
  source: AsyncIterable<Uint8Array>,
  targetBytes: number,
): AsyncGenerator<Buffer> {
  let header: Buffer | undefined;
  let parts: Buffer[] = [];
  let bytes = 0;
  let yielded = false;
  const scan: Scan = { at: 0, inQuote: false };
  const joined = (): Buffer => {
    if (parts.length !== 1) parts = [Buffer.concat(parts, bytes)];
    return parts[0] as Buffer;
  };
  const rest = (buf: Buffer, end: number) => {
    const tail = buf.subarray(end);
    parts = tail.length ? [Buffer.from(tail)] : [];
    bytes = tail.length;
    scan.at = 0;
    scan.inQuote = false;
  };
  for await (const piece of source) {
    const buf = Buffer.isBuffer(piece)
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    parts.push(buf);
    bytes += buf.length;
    if (!header) {
      const all = joined();
      const end = rowEndFrom(all, 0, scan);
      if (end < 0) continue;
      header = Buffer.from(all.subarray(0, end));
      rest(all, end);
    }
    while (bytes >= targetBytes) {
      const all = joined();
      const end = rowEndFrom(all, targetBytes, scan);
      if (end < 0) break;
      const chunk = Buffer.concat([header, all.subarray(0, end)]);
      rest(all, end);
      yielded = true;
      yield chunk;
    }
  }
  if (!header) {
    if (bytes > 0) yield Buffer.concat(parts, bytes);
    return;
  }
  if (bytes > 0 || !yielded) yield Buffer.concat([header, ...parts]);
}
