/**
 * A CSV parse worker thread of the enclave (csv-workers.ts starts them): it parses one piece
 * of a CSV at a time against the owner-signed schema, exactly as the enclave's own thread
 * would (data/csv.ts), and hands the parsed columns back by moving their memory to the
 * calling thread, not copying it. Worker threads live inside the enclave process: the
 * plaintext reaches them through shared memory and never leaves the process.
 *
 * The piece arrives as two ranges of one SharedArrayBuffer, the header row and the rows
 * (for a CSV decrypted whole, both ranges are of its one buffer, so the caller copies
 * nothing); they are joined here into this thread's own buffer, reused from piece to
 * piece (fresh memory is first-touch page faults on these machines), and wiped after the
 * parse, which never keeps a view of its input.
 */
import { parentPort } from 'node:worker_threads';
import type { Data } from 'apache-arrow';
import { isObscuraError } from '../common/errors.ts';
import { parseCsv } from '../data/csv.ts';
import type { DatasetSchema } from '../data/schema.ts';

/** One piece to parse: `shared[header]` then `shared[rows]`, a standalone CSV. */
export interface ParseRequest {
  id: number;
  shared: SharedArrayBuffer;
  header: [number, number];
  rows: [number, number];
  schema: DatasetSchema;
}

/** One parsed column's buffers (Arrow's layout; the type is the schema's). */
export interface ColumnBuffers {
  length: number;
  nullCount: number;
  values: Uint8Array | Int32Array | BigInt64Array | Float64Array | undefined;
  valueOffsets: Int32Array | undefined;
  nullBitmap: Uint8Array | undefined;
}

/**
 * Wipe `shared[range]` (a CSV's plaintext every piece of which is parsed: csv-pieces.ts), on
 * a thread that is idle by then, while the enclave's thread writes the last chunks.
 */
export interface WipeRequest {
  id: number;
  wipe: SharedArrayBuffer;
  range: [number, number];
}

/** The answer to a ParseRequest: the columns, or the error the parse threw (data-free, as the parser's are). */
export type ParseReply =
  | { id: number; rows: number; columns: ColumnBuffers[] }
  | { id: number; wiped: true }
  | {
      id: number;
      error: { code?: string; message: string; status?: number; details?: Record<string, unknown> };
    };

let scratch = Buffer.alloc(0);

/** The buffers of `data` to move rather than copy: not shared, not a small pooled slab. */
function movable(data: ColumnBuffers, into: Set<ArrayBuffer>): void {
  for (const b of [data.values, data.valueOffsets, data.nullBitmap])
    if (b && b.buffer instanceof ArrayBuffer && b.buffer.byteLength > Buffer.poolSize) into.add(b.buffer);
}

/**
 * Zero `shared[start, end)`: its aligned middle as 8-byte words (V8 fills a shared array's
 * bytes one at a time, ~4x the CPU of the words), the ends as bytes.
 */
function wipeShared(shared: SharedArrayBuffer, start: number, end: number): void {
  const from = Math.min(end, start + ((8 - (start % 8)) % 8));
  const to = Math.max(from, end - (end % 8));
  new Uint8Array(shared, start, from - start).fill(0);
  new Float64Array(shared, from, (to - from) / 8).fill(0);
  new Uint8Array(shared, to, end - to).fill(0);
}

function parse(req: ParseRequest): { reply: ParseReply; transfer: ArrayBuffer[] } {
  const [h0, h1] = req.header;
  const [r0, r1] = req.rows;
  const length = h1 - h0 + (r1 - r0);
  // The rows land at the same offset modulo 8 as in the shared buffer: V8 copies out of a
  // SharedArrayBuffer a word at a time only when both sides are aligned alike, else byte by
  // byte (~4x the CPU; a piece of the whole-file path starts anywhere).
  const start = (((r0 - (h1 - h0)) % 8) + 8) % 8;
  if (scratch.length < start + length) {
    scratch.fill(0);
    scratch = Buffer.allocUnsafeSlow(Math.ceil(length * 1.25) + 8);
  }
  const source = Buffer.from(req.shared);
  source.copy(scratch, start, h0, h1);
  source.copy(scratch, start + (h1 - h0), r0, r1);
  const bytes = scratch.subarray(start, start + length);
  try {
    const parsed = parseCsv(bytes, req.schema);
    const transfer = new Set<ArrayBuffer>();
    const columns = parsed.schema.map((_, c) => {
      const d = parsed.table.getChildAt(c)?.data[0] as Data;
      const out: ColumnBuffers = {
        length: d.length,
        nullCount: d.nullCount,
        values: d.values as ColumnBuffers['values'],
        valueOffsets: d.valueOffsets as Int32Array | undefined,
        nullBitmap: d.nullCount > 0 ? (d.nullBitmap as Uint8Array) : undefined,
      };
      movable(out, transfer);
      return out;
    });
    return { reply: { id: req.id, rows: parsed.rows, columns }, transfer: [...transfer] };
  } catch (e) {
    const error = isObscuraError(e)
      ? { code: e.code, message: e.message, status: e.status, details: e.details }
      : { message: e instanceof Error ? e.message : 'CSV parse failed' };
    return { reply: { id: req.id, error }, transfer: [] };
  } finally {
    bytes.fill(0);
  }
}

parentPort?.on('message', (req: ParseRequest | WipeRequest) => {
  if ('wipe' in req) {
    wipeShared(req.wipe, req.range[0], req.range[1]);
    parentPort?.postMessage({ id: req.id, wiped: true } satisfies ParseReply);
    return;
  }
  const { reply, transfer } = parse(req);
  parentPort?.postMessage(reply, transfer);
});
// Loaded: requests sent before now were queued by the port and come next.
parentPort?.postMessage({ ready: true });
