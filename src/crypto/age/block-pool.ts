/**
 * The block threads (block-crypt.ts runs a job on two of them), kept alive between files.
 *
 * Why kept: starting two worker threads costs about 0.065 CPU s and 0.1 s of wall time on
 * these machines (measured 2026-12-07), paid before the first block of every file; an
 * enclave decrypts an upload of 46 MiB (1M rows) in about 0.14 CPU s, so the start was a
 * third of it. A thread now waits for its next job (a message) instead of ending; an idle
 * thread does not keep the process alive, and at most IDLE_KEPT idle threads are kept (two
 * files opened at once start two more, which end after their job).
 *
 * A job's data reaches a thread by a message (the same fields as before, when they were its
 * workerData): the slots and the key are SharedArrayBuffers, so nothing secret is copied
 * into the message. A thread that fails (an error thrown outside a job's own handling, or
 * its exit) is dropped, never reused.
 */
import { Worker } from 'node:worker_threads';
import { openChunks, sealChunks } from './block-chunks.ts';
import {
  type BlockEvent,
  type BlockJob,
  blockThread,
  CLAIMED,
  CTL_ABORT,
  CTL_SEQ,
  DONE,
  F_HOLDERS,
  F_IN,
  F_INDEX,
  F_LAST,
  F_OUT,
  F_STATE,
  FREE,
  READ,
  SLOT_BASE,
  SLOT_WORDS,
} from './block-worker.ts';

/**
 * The worker's code: blockThread and the chunk loops from their own source text (so there
 * is one copy of each), plain JavaScript that needs no loader and runs the same under node,
 * tsx, vitest and the compiled dist/. `__name` is the helper esbuild (tsx) calls to keep
 * function names; the constants are the ones blockThread names. Each message is one job.
 */
const WORKER_SOURCE = `'use strict';
const __name = (f) => f;
${Object.entries({
  CTL_ABORT,
  CTL_SEQ,
  SLOT_BASE,
  SLOT_WORDS,
  F_STATE,
  F_HOLDERS,
  F_IN,
  F_OUT,
  F_LAST,
  F_INDEX,
  FREE,
  READ,
  CLAIMED,
  DONE,
})
  .map(([name, value]) => `const ${name} = ${value};`)
  .join('\n')}
Promise.all([import('node:worker_threads'), import('node:crypto'), import('node:fs')]).then(([wt, crypto, fs]) => {
  const sealChunks = ${sealChunks.toString()};
  const openChunks = ${openChunks.toString()};
  const run = ${blockThread.toString()};
  const post = (event) => wt.parentPort.postMessage(event);
  wt.parentPort.on('message', (msg) => {
    // The caller's scan, from its source text (direct eval: it sees __name, as the loops above do).
    const scan = msg.scanSource ? eval('(' + msg.scanSource + ')') : null;
    run(msg.job, { crypto, fs, sealChunks, openChunks, scan, post });
  });
});
`;

/** Idle threads kept for the next file: one job's two. */
const IDLE_KEPT = 2;

/** A block thread and the job it runs now (its events and its failure go to that job). */
export interface BlockThread {
  worker: Worker;
  onEvent: ((ev: BlockEvent) => void) | undefined;
  /** The thread failed or ended outside a job's own handling: it is gone. */
  onFail: ((e: Error) => void) | undefined;
  dead: boolean;
}

const idle: BlockThread[] = [];

function startThread(): BlockThread {
  // The code needs no loader: skip the parent's flags (tsx, --input-type) for a fast, predictable start.
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  const thread: BlockThread = { worker, onEvent: undefined, onFail: undefined, dead: false };
  const gone = (e: Error): void => {
    if (thread.dead) return;
    thread.dead = true;
    const at = idle.indexOf(thread);
    if (at >= 0) idle.splice(at, 1);
    thread.onFail?.(e);
  };
  worker.on('message', (ev: BlockEvent) => thread.onEvent?.(ev));
  worker.on('error', (e) => gone(e));
  worker.on('exit', () => gone(new Error('block worker stopped early')));
  return thread;
}

/**
 * Run `job` on a block thread (an idle one, else a new one); its events go to `onEvent`
 * until it posts `exit`, when the thread is idle again; `onFail` is told if the thread
 * dies first (its `exit` never comes).
 */
export function runOnBlockThread(
  job: BlockJob,
  scanSource: string | null,
  onEvent: (ev: BlockEvent) => void,
  onFail: (e: Error) => void,
): void {
  const thread = idle.pop() ?? startThread();
  thread.onEvent = (ev) => {
    if (ev.type === 'exit') {
      // The job's function has returned: the thread holds nothing of it and is free.
      thread.onEvent = undefined;
      thread.onFail = undefined;
      thread.worker.unref();
      if (idle.length < IDLE_KEPT) idle.push(thread);
      else void thread.worker.terminate();
    }
    onEvent(ev);
  };
  thread.onFail = onFail;
  thread.worker.ref();
  thread.worker.postMessage({ job, scanSource });
}

/** End the idle block threads (tests; they start again with the next file). */
export async function stopBlockThreads(): Promise<void> {
  const all = idle.splice(0);
  for (const t of all) t.dead = true;
  await Promise.all(all.map((t) => t.worker.terminate()));
}
