/**
 * The store's decryption threads: two worker threads of the enclave process (one on a
 * single core) that read and open sealed column chunks (decrypt-thread.ts) for read.ts.
 * Started at the first read large enough to use them and kept, since starting a thread
 * costs more than opening a job's chunks; they hold the process open only while a request
 * is in flight. Plaintext stays in this process: it moves from a thread to the caller by
 * transferring the buffer it was written into. The key is passed in shared memory that is
 * wiped when the request is done, never in a message.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import {
  type DecryptReply,
  type DecryptRequest,
  type DecryptTask,
  storeDecryptThread,
} from './decrypt-thread.ts';
import { plainBytes } from './seal.ts';

/**
 * The thread's code: storeDecryptThread from its own source text (one copy of it), plain
 * JavaScript that needs no loader and runs the same under node, tsx, vitest and dist/.
 * `__name` is the helper esbuild (tsx) calls to keep function names.
 */
const WORKER_SOURCE = `'use strict';
const __name = (f) => f;
Promise.all([import('node:worker_threads'), import('node:crypto'), import('node:fs')]).then(([wt, crypto, fs]) => {
  const { port, signal } = wt.workerData;
  const replied = new Int32Array(signal);
  (${storeDecryptThread.toString()})({
    crypto,
    fs,
    onRequest: (handle) => wt.parentPort.on('message', handle),
    reply: (r) => {
      port.postMessage(r, [r.out]);
      // After the post: a caller waiting on this counter then finds the reply on the port.
      Atomics.add(replied, 0, 1);
      Atomics.notify(replied, 0);
    },
  });
});
`;

/** What becomes of a request's reply (called as it is received, synchronously when waited for). */
interface Waiting {
  resolve: (r: DecryptReply) => void;
  reject: (e: Error) => void;
}

/** One of the store's threads, and the requests it has not answered yet. */
export interface StoreThread {
  worker: Worker;
  /** Where the thread replies: a port that can be read synchronously (waitForReplies). */
  port: MessagePort;
  pending: Map<number, Waiting>;
  stopped: boolean;
}

type Thread = StoreThread;

let threads: Thread[] = [];
let nextId = 0;
// Counts the replies of every thread: waitForReplies sleeps on it.
const replied = new Int32Array(new SharedArrayBuffer(4));

function received(thread: Thread, reply: DecryptReply): void {
  const waiting = thread.pending.get(reply.id);
  thread.pending.delete(reply.id);
  if (thread.pending.size === 0) {
    thread.worker.unref();
    thread.port.unref();
  }
  waiting?.resolve(reply);
}

function startThread(): Thread {
  const { port1, port2 } = new MessageChannel();
  // The code needs no loader: skip the parent's flags (tsx) for a fast, predictable start.
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { port: port2, signal: replied.buffer },
    transferList: [port2],
  });
  worker.unref();
  const thread: Thread = { worker, port: port1, pending: new Map(), stopped: false };
  port1.on('message', (reply: DecryptReply) => received(thread, reply));
  port1.unref();
  const stopped = (e: Error): void => {
    thread.stopped = true;
    threads = threads.filter((t) => t !== thread);
    for (const { reject } of thread.pending.values()) reject(e);
    thread.pending.clear();
  };
  worker.on('error', stopped);
  worker.on('exit', () => stopped(new Error('store decryption thread stopped')));
  return thread;
}

function pool(): Thread[] {
  if (threads.length === 0)
    threads = Array.from({ length: Math.max(1, Math.min(2, availableParallelism())) }, startThread);
  return threads;
}

function ask(thread: Thread, req: DecryptRequest): Promise<DecryptReply> {
  return new Promise((resolve, reject) => sendRequest(thread, req, { resolve, reject }));
}

/** Send `req` to `thread`; `waiting` is called with its reply (or the thread's failure). */
export function sendRequest(thread: Thread, req: DecryptRequest, waiting: Waiting): void {
  thread.pending.set(req.id, waiting);
  thread.worker.ref();
  thread.port.ref();
  thread.worker.postMessage(req, req.reuse ? [req.reuse] : []);
}

/** The store's threads, started if need be (as many as open a read: two, one on a single core). */
export function storeThreads(): readonly Thread[] {
  return pool();
}

/** A new request id. */
export function requestId(): number {
  return nextId++;
}

/**
 * Block this thread until `done()` holds, taking the threads' replies as they come (their
 * callbacks run here, synchronously), or until `ms` pass; returns `done()`. For a caller
 * that cannot yield to the event loop (DuckDB waiting in a table function's callback). A
 * stopped thread never replies: the caller gives up after `ms` and opens the chunk itself.
 */
export function waitForReplies(done: () => boolean, ms: number): boolean {
  const until = performance.now() + ms;
  for (;;) {
    const seen = Atomics.load(replied, 0);
    for (const thread of threads)
      for (let m = receiveMessageOnPort(thread.port); m; m = receiveMessageOnPort(thread.port))
        received(thread, m.message as DecryptReply);
    if (done()) return true;
    const left = until - performance.now();
    if (left <= 0) return false;
    Atomics.wait(replied, 0, seen, left);
  }
}

/** Where a chunk to open is: its file, place and additional data. */
export type SealedChunk = Omit<DecryptTask, 'at'>;

/** Plaintext chunks opened on the threads: views of `buffers` (the threads' outputs). */
export interface OpenedChunks {
  plains: Uint8Array[];
  buffers: ArrayBuffer[];
}

// Each chunk's plaintext starts on a 64-byte boundary, as Arrow lays out its buffers, so
// the typed arrays over it are views, never copies.
const ALIGN = 64;

/** Bytes the plaintext of a sealed chunk of `sealedLength` bytes takes in a thread's output: rounded up to ALIGN. */
export function slotBytes(sealedLength: number): number {
  return Math.ceil(plainBytes(sealedLength) / ALIGN) * ALIGN;
}

/**
 * Open `chunks` (sealed with `key`, seal.ts) on the threads, in contiguous shares of about
 * equal bytes. Returns their plaintexts in order, or `{ failed }`: the first chunk that did
 * not read whole or authenticate (nothing of that read is returned). `reuse`: buffers of an
 * earlier call to write into (transferred: every view of them is emptied).
 */
export async function openOnThreads(
  key: Uint8Array,
  chunks: readonly SealedChunk[],
  reuse: readonly ArrayBuffer[] = [],
): Promise<OpenedChunks | { failed: number }> {
  const live = pool();
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const shares: { first: number; tasks: DecryptTask[]; bytes: number }[] = [];
  for (let i = 0, s = 0; s < live.length && i < chunks.length; s++) {
    const share = { first: i, tasks: [] as DecryptTask[], bytes: 0 };
    const goal = (total * (s + 1)) / live.length;
    let done = chunks.slice(0, i).reduce((n, c) => n + c.length, 0);
    while (i < chunks.length && (share.tasks.length === 0 || done < goal || s === live.length - 1)) {
      const c = chunks[i++] as SealedChunk;
      share.tasks.push({ ...c, at: share.bytes });
      share.bytes += slotBytes(c.length);
      done += c.length;
    }
    shares.push(share);
  }
  const shared = Buffer.from(new SharedArrayBuffer(key.length));
  shared.set(key);
  try {
    const replies = await Promise.all(
      shares.map((share, s) => {
        const spare = reuse[s];
        return ask(live[s] as Thread, {
          id: nextId++,
          key: shared,
          tasks: share.tasks,
          bytes: share.bytes,
          ...(spare && spare.byteLength >= share.bytes ? { reuse: spare } : {}),
        });
      }),
    );
    const failed = replies.flatMap((r, s) => (r.failed < 0 ? [] : [(shares[s]?.first ?? 0) + r.failed]));
    if (failed.length > 0) return { failed: Math.min(...failed) };
    const plains: Uint8Array[] = [];
    shares.forEach((share, s) => {
      const out = (replies[s] as DecryptReply).out;
      for (const t of share.tasks) plains.push(new Uint8Array(out, t.at, plainBytes(t.length)));
    });
    return { plains, buffers: replies.map((r) => r.out) };
  } finally {
    shared.fill(0);
  }
}
