/**
 * The enclave's CSV parse workers: a few worker threads (one per core) that parse pieces of
 * a CSV (csv-worker.ts) while the enclave's own thread writes the store from the pieces
 * already parsed. An upload's check and store then use both cores: before these, the parse
 * and the store write ran one after the other on one thread (BENCHMARKS.md "Enclave store").
 *
 * The threads are inside the enclave process and measured with it (csv-worker.ts is
 * imported here for its types, so it is in the enclave's import closure); the plaintext
 * reaches them in SharedArrayBuffers and the parsed columns come back by transfer. They are
 * started once, by the first CSV large enough to be parsed in pieces, and kept: a thread's
 * start (its loader, its modules) costs more than parsing a piece; an enclave that never
 * sees such a CSV (the tests' small datasets) never starts them. An idle thread does not
 * keep the process alive.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Data, makeData } from 'apache-arrow';
import { ObscuraError } from '../common/errors.ts';
import { arrowTypeFor, tableFromColumns } from '../data/columns.ts';
import type { DatasetSchema, ParsedDataset } from '../data/schema.ts';
import type { ColumnBuffers, ParseReply, ParseRequest, WipeRequest } from './csv-worker.ts';

// Run from its sources (tsx: the tests, `obscura serve` before a build), the enclave's worker is
// csv-worker.ts and needs tsx's loader, by absolute URL as the host starts the enclave
// (host/enclave-client.ts); run from the compiled build (dist/), it is csv-worker.js beside this
// file and needs no loader (tsx may not even be installed there).
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_FILE = new URL(FROM_SOURCES ? './csv-worker.ts' : './csv-worker.js', import.meta.url);

/** The source a parse thread evaluates: the loader first when from sources, then the worker's file. */
function bootSource(): string {
  const worker = JSON.stringify(WORKER_FILE.href);
  if (!FROM_SOURCES) return `import(${worker})`;
  const tsx = pathToFileURL(
    join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs'),
  ).href;
  // A loader given as `--import` in the thread's execArgv is not yet in place for the thread's
  // entry file under Node 20, so the thread imports it itself.
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${worker}); })`;
}

interface Thread {
  worker: Worker;
  /** Settles once the thread has loaded its modules (or failed to). */
  ready: Promise<void>;
  pending: Map<number, { resolve: (r: ParseReply) => void; reject: (e: Error) => void }>;
}

const threads: Thread[] = [];
let nextId = 0;

/** How many parse threads: one per core, at most four. */
export function csvWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

function startThread(): Thread {
  const worker = new Worker(bootSource(), { eval: true, execArgv: [] });
  let loaded: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    loaded = resolve;
  });
  const thread: Thread = { worker, ready, pending: new Map() };
  const fail = (e: Error) => {
    loaded();
    const at = threads.indexOf(thread);
    if (at >= 0) threads.splice(at, 1);
    for (const p of thread.pending.values()) p.reject(e);
    thread.pending.clear();
  };
  worker.on('message', (reply: ParseReply | { ready: true }) => {
    if ('ready' in reply) {
      if (thread.pending.size === 0) worker.unref();
      return loaded();
    }
    const p = thread.pending.get(reply.id);
    thread.pending.delete(reply.id);
    if (thread.pending.size === 0) worker.unref();
    p?.resolve(reply);
  });
  worker.on('error', (e) => fail(e));
  worker.on('exit', () => fail(new Error('CSV parse worker exited')));
  // Held in the event loop while it loads and while it has pieces, not when idle.
  return thread;
}

/**
 * Start the parse threads if they are not running; resolves once they have loaded. Started
 * by the first CSV large enough to use them, while it is being decrypted, and then kept.
 */
export async function startCsvWorkers(): Promise<void> {
  while (threads.length < csvWorkerCount()) threads.push(startThread());
  await Promise.all(threads.map((t) => t.ready));
}

/** Stop the parse threads (tests, a bench's end); they start again on the next parse. */
export async function stopCsvWorkers(): Promise<void> {
  const all = threads.splice(0);
  await Promise.all(all.map((t) => t.worker.terminate()));
}

let turn = 0;

/** The thread with the fewest pieces waiting, taking turns among equals (not the first always). */
function leastBusy(): Thread {
  void startCsvWorkers();
  turn = (turn + 1) % threads.length;
  let best = threads[turn] as Thread;
  for (const t of threads) if (t.pending.size < best.pending.size) best = t;
  return best;
}

/**
 * Wipe `shared[start, end)` on the parse threads, a share each (they are idle once a CSV's
 * pieces are parsed, while the enclave's thread still writes its last chunks); resolves when
 * every share is zero, rejects if a thread failed first (the caller then wipes it itself).
 */
export async function wipeInWorkers(shared: SharedArrayBuffer, start: number, end: number): Promise<void> {
  if (threads.length === 0) throw new Error('no CSV parse worker running');
  const share = Math.ceil((end - start) / threads.length);
  const replies: Promise<ParseReply>[] = [];
  for (const [k, thread] of [...threads].entries()) {
    const from = Math.min(end, start + k * share);
    const range: [number, number] = [from, Math.min(end, from + share)];
    const id = nextId++;
    replies.push(
      new Promise<ParseReply>((resolve, reject) => {
        thread.pending.set(id, { resolve, reject });
      }),
    );
    thread.worker.ref();
    thread.worker.postMessage({ id, wipe: shared, range } satisfies WipeRequest);
  }
  await Promise.all(replies);
}

/** A column from a worker's buffers, typed by the schema. */
function column(type: DatasetSchema[number]['type'], b: ColumnBuffers): Data {
  return makeData({
    type: arrowTypeFor(type),
    length: b.length,
    nullCount: b.nullCount,
    nullBitmap: b.nullBitmap,
    valueOffsets: b.valueOffsets,
    data: b.values,
  } as Parameters<typeof makeData>[0]);
}

/**
 * Parse the CSV `shared[header] ‖ shared[rows]` against `schema` in a parse thread: what
 * parseCsv(bytes, schema) returns or throws (an ObscuraError with its code, status and
 * details, rows numbered within this piece). The caller must not change those bytes
 * until it settles; the thread wipes its own copy.
 */
export function parseInWorker(
  shared: SharedArrayBuffer,
  header: [number, number],
  rows: [number, number],
  schema: DatasetSchema,
): Promise<ParsedDataset> {
  const thread = leastBusy();
  const id = nextId++;
  const request: ParseRequest = { id, shared, header, rows, schema };
  const reply = new Promise<ParseReply>((resolve, reject) => {
    thread.pending.set(id, { resolve, reject });
  });
  thread.worker.ref();
  thread.worker.postMessage(request);
  return reply.then((r) => {
    if ('wiped' in r) throw new Error('CSV parse worker answered a parse with a wipe');
    if ('error' in r) {
      const { code, message, status, details } = r.error;
      if (code) throw new ObscuraError(code, message, status as ObscuraError['status'], details);
      throw new Error(message);
    }
    const columns = r.columns.map((b, c) => column(schema[c]?.type ?? 'string', b));
    return {
      table: tableFromColumns(
        schema.map((c) => c.name),
        columns,
        r.rows,
      ),
      schema: schema.map((c) => ({ name: c.name, type: c.type })),
      rows: r.rows,
    };
  });
}
