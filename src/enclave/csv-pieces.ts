/**
 * A CSV parsed as pieces of whole rows by the parse threads (csv-workers.ts), yielded in
 * order as each is ready, so that the enclave's own thread writes the store from one piece
 * while the threads parse the next ones. Each piece is what parseDataset(…, 'csv',
 * { schema }) gives for those rows, and the pieces' rows in order are the file's rows:
 * a CSV split at a newline outside quotes (data/csv-chunks.ts) parses as the rows before
 * and the rows after, and the store's chunks do not depend on where the pieces end
 * (store/write.ts cuts them by row count).
 *
 * Errors are the serial parse's: a piece that fails makes the whole CSV be parsed on this
 * thread, which throws the error naming the row in the whole file; a stream's piece that
 * fails is renumbered to the row in the whole stream, as before the threads. A parse thread
 * that fails (rather than the CSV) costs only speed: its pieces are parsed on this thread.
 */
import type { Data } from 'apache-arrow';
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import { tableFromBatches } from '../data/columns.ts';
import { csvRowRanges } from '../data/csv-chunks.ts';
import { parseDataset } from '../data/parse.ts';
import type { DatasetSchema, ParsedDataset } from '../data/schema.ts';
import { csvWorkerCount, parseInWorker, wipeInWorkers } from './csv-workers.ts';

/** Bytes of CSV per piece: a piece's fixed cost (two messages, its columns rebuilt) is noise beside it. */
export const PARSE_PIECE_BYTES = 4 * 1024 * 1024;

/** Below this a CSV (or a stream's chunk) is parsed on the calling thread: a parse thread's start costs more. */
export const MIN_THREADED_BYTES = 1024 * 1024;

/**
 * The rows of `plaintext` (a whole CSV) parsed against `schema`, as pieces in order. The
 * caller may wipe `plaintext` once the generator is done (finished, thrown or returned):
 * it waits for every piece handed to a thread. Given `wiped`, once every piece has been
 * parsed the parse threads wipe all of `plaintext` (they are idle by then, while the caller
 * still writes the last pieces: before, the enclave's thread wiped its 46 MB at 1M rows,
 * ~0.015 s at the end of an upload) and `wiped.done` says so when the generator is done;
 * it stays false whenever the plaintext was still needed (a piece that failed, a thread
 * that failed: the file is parsed again here) or a thread failed to wipe its share.
 */
export async function* parseCsvPieces(
  plaintext: Buffer,
  schema: DatasetSchema,
  pieceBytes = PARSE_PIECE_BYTES,
  wiped?: { done: boolean },
): AsyncGenerator<ParsedDataset> {
  const shared = plaintext.buffer;
  // Leading blank lines or a BOM before the header: the serial parser's business.
  const first = plaintext[0];
  if (
    !(shared instanceof SharedArrayBuffer) ||
    plaintext.length < Math.max(MIN_THREADED_BYTES, 2 * pieceBytes) ||
    first === 0x0a ||
    first === 0x0d ||
    first === 0xef
  ) {
    yield await parseDataset(plaintext, 'csv', { schema });
    return;
  }
  const base = plaintext.byteOffset;
  const { header, ranges } = csvRowRanges(plaintext, pieceBytes);
  if (ranges.length < 2) {
    yield await parseDataset(plaintext, 'csv', { schema });
    return;
  }
  const tasks = ranges.map(([s, e]) =>
    parseInWorker(shared, [base, base + header], [base + s, base + e], schema),
  );
  for (const t of tasks) t.catch(() => {});
  // Every piece parsed (none failed, so the plaintext is not needed again): wiped by the threads.
  const wiping = wiped
    ? Promise.all(tasks)
        .then(() => wipeInWorkers(shared, base, base + plaintext.length))
        .then(
          () => {
            wiped.done = true;
          },
          () => {},
        )
    : undefined;
  let before = 0;
  try {
    for (const [k, task] of tasks.entries()) {
      let piece: ParsedDataset;
      try {
        piece = await task;
      } catch (e) {
        await Promise.allSettled(tasks);
        if (!isObscuraError(e)) {
          // A parse thread failed (not the CSV): this piece and the rest parsed here.
          yield* piecesHere(plaintext, header, ranges.slice(k), schema, before);
          return;
        }
        // The whole file's error (its row numbers, the first failure in file order).
        await parseDataset(plaintext, 'csv', { schema });
        throw offsetRow(e, before);
      }
      before += piece.rows;
      yield piece;
    }
  } finally {
    await Promise.allSettled(tasks);
    await wiping;
  }
}

/** The pieces `ranges` of `plaintext` parsed on this thread, each behind the header, rows numbered after `before`. */
async function* piecesHere(
  plaintext: Buffer,
  header: number,
  ranges: readonly [number, number][],
  schema: DatasetSchema,
  before: number,
): AsyncGenerator<ParsedDataset> {
  for (const [s, e] of ranges) {
    const bytes = Buffer.concat([plaintext.subarray(0, header), plaintext.subarray(s, e)]);
    let piece: ParsedDataset;
    try {
      piece = await parseDataset(bytes, 'csv', { schema });
    } catch (err) {
      throw offsetRow(err, before);
    } finally {
      bytes.fill(0);
    }
    before += piece.rows;
    yield piece;
  }
}

/**
 * `chunks` (standalone CSVs, each a view the source reuses once the next is asked for, as
 * csvChunks yields them) parsed against `schema` by the parse threads, at most `depth` at
 * once (two a thread: one parsing, one waiting, so no thread idles while the consumer
 * waits for the oldest), yielded in order. Each chunk is copied into a shared buffer of a
 * small ring (overwritten by a later chunk once its parse is done, wiped when the stream
 * ends), so memory stays `depth` chunks however long the stream.
 *
 * The source is read by a pump of its own, not on the consumer's demand: while the
 * consumer works on a piece (the store's write seals it on this thread), the block threads
 * decrypt and the parse threads parse the next chunks. Before, the next chunk was asked
 * for only when the consumer asked for the next piece, so the decryption of each 8 MiB
 * chunk (the source reads two 1 MiB blocks ahead) waited for the store's write, and the
 * write for it: a 10M-row upload used little more than one core.
 */
export async function* parseCsvStream(
  chunks: AsyncIterable<Buffer>,
  schema: DatasetSchema,
  depth = 2 * csvWorkerCount(),
): AsyncGenerator<ParsedDataset> {
  type Entry = { task: Promise<ParsedDataset>; slot: Buffer; used: number } | { here: Buffer; used: number };
  // Slots whose parse is done, with the bytes of plaintext they still hold: overwritten by the
  // next chunk (and the rest zeroed) rather than wiped at once, which was a second pass over
  // the whole plaintext on this thread; wiped when the stream ends, however it ends.
  const free: { slot: Buffer; used: number }[] = [];
  const queue: Entry[] = [];
  let before = 0;
  // The pump's state, read by the consumer after each wait.
  const pumped: { done: boolean; failure?: { error: unknown } } = { done: false };
  let stopped = false;
  // Who waits: the consumer for an entry (or the pump's end), the pump for room in the ring.
  let wakeConsumer: () => void = () => {};
  let wakePump: () => void = () => {};
  const pump = (async () => {
    try {
      for await (const chunk of chunks) {
        if (stopped) return;
        if (chunk.length < MIN_THREADED_BYTES) {
          // A small chunk (the stream's last, or a test's): parsed here, in order, from a copy
          // the consumer wipes.
          queue.push({ here: Buffer.from(chunk), used: chunk.length });
        } else {
          const spare = free.pop();
          let slot: Buffer;
          if (spare && spare.slot.length >= chunk.length) {
            slot = spare.slot;
            chunk.copy(slot);
            if (spare.used > chunk.length) slot.fill(0, chunk.length, spare.used);
          } else {
            spare?.slot.fill(0, 0, spare.used);
            slot = Buffer.from(new SharedArrayBuffer(chunk.length + (chunk.length >> 3)));
            chunk.copy(slot);
          }
          const task = parseInWorker(slot.buffer as SharedArrayBuffer, [0, 0], [0, chunk.length], schema);
          task.catch(() => {});
          queue.push({ task, slot, used: chunk.length });
        }
        wakeConsumer();
        while (queue.length >= depth && !stopped) await new Promise<void>((r) => (wakePump = r));
        if (stopped) return;
      }
    } catch (e) {
      pumped.failure = { error: e };
    } finally {
      pumped.done = true;
      wakeConsumer();
    }
  })();
  const next = async (entry: Entry): Promise<ParsedDataset> => {
    try {
      let piece: ParsedDataset;
      if ('here' in entry) piece = await parseDataset(entry.here.subarray(0, entry.used), 'csv', { schema });
      else {
        try {
          piece = await entry.task;
        } catch (e) {
          // A parse thread failed (not the CSV): the chunk, still in its slot, parsed here.
          if (isObscuraError(e)) throw e;
          piece = await parseDataset(entry.slot.subarray(0, entry.used), 'csv', { schema });
        }
      }
      before += piece.rows;
      return piece;
    } catch (e) {
      throw offsetRow(e, before);
    } finally {
      if ('here' in entry) entry.here.fill(0);
      else free.push({ slot: entry.slot, used: entry.used });
    }
  };
  try {
    for (;;) {
      // The source's failure first, as when it was read on demand (stream-input.ts checks the
      // ciphertext then, for the error a tampered file gives).
      if (pumped.failure) throw pumped.failure.error;
      const entry = queue[0];
      if (entry) {
        const piece = await next(entry);
        queue.shift();
        wakePump();
        yield piece;
      } else if (pumped.done) return;
      else await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    stopped = true;
    wakePump();
    await pump;
    for (const entry of queue.splice(0)) {
      if ('here' in entry) entry.here.fill(0);
      else {
        await entry.task.catch(() => {});
        entry.slot.fill(0, 0, entry.used);
      }
    }
    for (const { slot, used } of free.splice(0)) slot.fill(0, 0, used);
  }
}

/** A CSV error of a piece, renumbered to the row in the whole file. */
export function offsetRow(e: unknown, before: number): unknown {
  if (!isObscuraError(e, 'dataset_invalid') || typeof e.details?.row !== 'number' || e.details.row === 0)
    return e;
  const row = e.details.row + before;
  return new ObscuraError(e.code, e.message.replace(/^CSV row \d+/, `CSV row ${row}`), e.status, {
    ...e.details,
    row,
  });
}

/** Pieces parsed against `schema` as one dataset (a record batch a piece): no column is copied. */
export function joinPieces(schema: DatasetSchema, pieces: readonly ParsedDataset[]): ParsedDataset {
  if (pieces.length === 1) return pieces[0] as ParsedDataset;
  const batches = pieces.map((p) => ({
    length: p.rows,
    columns: schema.map((_, c) => p.table.batches[0]?.data.children[c] as Data),
  }));
  // An empty piece (blank lines only) adds no batch, unless every piece is empty.
  const kept = batches.filter((b) => b.length > 0);
  return {
    table: tableFromBatches(
      schema.map((c) => c.name),
      schema,
      kept.length > 0 ? kept : batches.slice(0, 1),
    ),
    schema: schema.map((c) => ({ name: c.name, type: c.type })),
    rows: pieces.reduce((n, p) => n + p.rows, 0),
  };
}
