/**
 * A store's chunks opened one after another for a reader that takes them synchronously: a
 * DuckDB scan (data/duckdb-scan.ts), whose callback cannot await. The store's threads
 * (decrypt-pool.ts) open a few chunks ahead of the reader while DuckDB works on the one it
 * has, so reading and querying share the two cores; each chunk's plaintext goes into one
 * of a few buffers that the threads write over once the reader has moved past it. So a
 * job holds a few chunks' plaintext, not its whole columns, and reuses that memory rather
 * than touching fresh memory for every row it reads (measured at 10M rows, 3 columns: a
 * whole read cost 0.40 CPU s, of which about 0.15 the first touch and collection of its
 * 130 MB). A chunk the threads have not opened in time (a thread stopped) is opened on
 * the calling thread.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import {
  requestId,
  sendRequest,
  type StoreThread,
  slotBytes,
  storeThreads,
  waitForReplies,
} from './decrypt-pool.ts';
import type { DecryptReply, DecryptTask } from './decrypt-thread.ts';
import { openPiece, plainBytes } from './seal.ts';

/** A sealed chunk of a stream: its file (an index into the stream's paths) and place. */
export interface StreamChunk {
  file: number;
  offset: number;
  length: number;
  aad: Buffer;
}

/** One group's plaintexts (views valid until the next take), or the index of the chunk that failed. */
export type Taken = { plains: Uint8Array[] } | { failed: number };

/** Groups of chunks taken in order, each group opened whole before it is given. */
export interface ChunkStream {
  /** The next group (blocking until it is open), or undefined after the last. */
  take(): Taken | undefined;
  /** Stop: nothing more is opened; files close and the key is wiped once no thread uses them. */
  close(): void;
}

/** How many groups the threads open ahead of the reader. */
const AHEAD = 4;
/** How long a take waits for the threads before opening the group itself. */
const PATIENCE_MS = 5000;
/** Plaintext buffers kept between streams for the next one to write into. */
const SPARE_BYTES = 64 * 1024 * 1024;
const spares: ArrayBuffer[] = [];

/** A buffer of `list` of at least `bytes`, taken out of it. */
function takeBuffer(list: ArrayBuffer[], bytes: number): ArrayBuffer | undefined {
  const i = list.findIndex((b) => b.byteLength >= bytes);
  return i < 0 ? undefined : list.splice(i, 1)[0];
}

/**
 * Open `groups` (each a list of sealed chunks of the files `paths`, e.g. one store chunk's
 * columns) in order, with `key`. On the threads when `threaded`, else on this thread as
 * they are taken. Throws `{ file }`, the index of a path that does not open.
 */
export function streamChunks(
  key: Buffer,
  paths: readonly string[],
  groups: readonly (readonly StreamChunk[])[],
  threaded: boolean,
): ChunkStream {
  const fds: number[] = [];
  for (const [file, path] of paths.entries()) {
    try {
      fds.push(openSync(path, 'r'));
    } catch {
      for (const fd of fds) closeSync(fd);
      throw Object.assign(new Error('a store file does not open'), { file });
    }
  }
  const fdOf = (file: number): number => fds[file] as number;
  // The key in shared memory for the threads (and this thread), wiped when the stream is
  // done with it; the caller may wipe its own copy at once.
  const shared = Buffer.from(new SharedArrayBuffer(key.length));
  shared.set(key);
  const replies = new Map<number, DecryptReply>();
  let inFlight = 0;
  let asked = 0;
  let next = 0;
  let closed = false;
  let onThreads = threaded;
  let held: ArrayBuffer | undefined;
  let scratch = Buffer.alloc(0);
  const free: ArrayBuffer[] = [];

  const finish = () => {
    if (!closed || inFlight > 0) return;
    shared.fill(0);
    for (const fd of fds.splice(0)) closeSync(fd);
    // Kept for the next stream wiped (a few MiB): no plaintext outlives its job's read.
    let kept = spares.reduce((n, b) => n + b.byteLength, 0);
    for (const b of [...free, ...(held ? [held] : [])]) {
      new Uint8Array(b).fill(0);
      if (kept + b.byteLength > SPARE_BYTES) continue;
      spares.push(b);
      kept += b.byteLength;
    }
    free.length = 0;
    held = undefined;
    for (const r of replies.values()) new Uint8Array(r.out).fill(0);
    replies.clear();
  };

  const layout = (g: number): { tasks: DecryptTask[]; bytes: number } => {
    let bytes = 0;
    const tasks = (groups[g] ?? []).map((c) => {
      const task = {
        fd: fdOf(c.file),
        offset: c.offset,
        length: c.length,
        aad: c.aad.toString('utf8'),
        at: bytes,
      };
      bytes += slotBytes(c.length);
      return task;
    });
    return { tasks, bytes };
  };

  // Keep AHEAD groups asked for beyond the one the reader has.
  const askAhead = () => {
    const live = storeThreads().filter((t) => !t.stopped);
    if (live.length === 0) onThreads = false;
    while (onThreads && !closed && asked < groups.length && asked < next + AHEAD) {
      const g = asked++;
      const { tasks, bytes } = layout(g);
      const reuse = takeBuffer(free, bytes) ?? takeBuffer(spares, bytes);
      const thread = live[g % live.length] as StoreThread;
      inFlight++;
      sendRequest(
        thread,
        { id: requestId(), key: shared, tasks, bytes, ...(reuse ? { reuse } : {}) },
        {
          resolve: (reply) => {
            inFlight--;
            if (closed) {
              new Uint8Array(reply.out).fill(0);
              finish();
            } else replies.set(g, reply);
          },
          reject: () => {
            inFlight--;
            finish();
          },
        },
      );
    }
  };

  const here = (g: number): Taken => {
    const plains: Uint8Array[] = [];
    for (const [i, c] of (groups[g] ?? []).entries()) {
      if (scratch.length < c.length) scratch = Buffer.allocUnsafe(Math.max(c.length, 2 * scratch.length));
      let got = 0;
      try {
        const fd = fdOf(c.file);
        while (got < c.length) {
          const n = readSync(fd, scratch, got, c.length - got, c.offset + got);
          if (n === 0) break;
          got += n;
        }
      } catch {
        return { failed: i };
      }
      const plain = got === c.length ? openPiece(shared, c.aad, scratch.subarray(0, got)) : undefined;
      if (!plain) return { failed: i };
      plains.push(plain);
    }
    return { plains };
  };

  return {
    take() {
      if (closed || next >= groups.length) return undefined;
      const g = next++;
      // The reader is done with the group it had: its buffer takes a later group.
      if (held) free.push(held);
      held = undefined;
      askAhead();
      // A group asked of the threads is taken from them, unless they do not answer in time:
      // then this stream opens it, and the rest, itself.
      if (g < asked && (replies.has(g) || (onThreads && waitForReplies(() => replies.has(g), PATIENCE_MS)))) {
        const reply = replies.get(g) as DecryptReply;
        replies.delete(g);
        held = reply.out;
        if (reply.failed >= 0) return { failed: reply.failed };
        const { tasks } = layout(g);
        const plains = tasks.map((t) => new Uint8Array(reply.out, t.at, plainBytes(t.length)));
        return { plains };
      }
      onThreads = false;
      return here(g);
    },
    close() {
      closed = true;
      finish();
    },
  };
}
