/**
 * STREAM blocks sealed or opened, and both SHA-256 commitments kept, by two worker threads
 * that read and write the files themselves, over shared-memory slots.
 *
 * An age payload is a sequence of independent 64 KiB ChaCha20-Poly1305 chunks, each under a
 * nonce made of its index and a last-chunk flag (stream.ts), so any thread holding the
 * payload key can seal or open a block of chunks once it knows the block's first chunk
 * index. The two hashes are sequential: one thread keeps each. How the two threads share the
 * work is in block-worker.ts; this file starts them and serves the calling thread's part
 * (the caller's view of each block, progress, failures).
 *
 * Why the threads do their own I/O (measured, BENCHMARKS.md "Sealing"): with the calling
 * thread reading, writing and handing each 1 MiB block to the workers, every block took
 * several hops between threads, and on a loaded machine each hop waits to be scheduled; the
 * workers sat idle most of the run. Why threads at all: the cipher and both hashes are about
 * 1.8 CPU s a GiB, more than one core gives `age`'s time; and node:crypto's `update()`
 * allocates a fresh output buffer per chunk, whose garbage collection costs more than the
 * cipher in a large isolate (the CLI, the enclave) and little in a worker's near-empty one.
 *
 * The payload key sits in a SharedArrayBuffer that both workers read and the caller wipes;
 * it is never copied into a message. Slots are wiped by the caller when it is done.
 *
 * The two threads are kept between files (block-pool.ts): their start cost more than a third
 * of an upload's decryption. So are one job's slots (takeSlots / giveSlots): fresh memory is
 * first-touch page faults on these machines (about 7 ms of CPU for a job's 13 MiB).
 */
import { write, writeSync } from 'node:fs';
import {
  type BlockEvent,
  type BlockJob,
  type BlockScan,
  CTL_ABORT,
  CTL_SEQ,
  F_HOLDERS,
  F_IN,
  F_LAST,
  F_STATE,
  FREE,
  SLOT_BASE,
  SLOT_WORDS,
} from './block-worker.ts';
import { runOnBlockThread } from './block-pool.ts';

/** The rings of reusable buffers a job moves through: plaintext and sealed blocks. */
export interface Slots {
  plain: Buffer[];
  sealed: Buffer[];
}

let spare: { slots: Slots; plainBytes: number; sealedBytes: number } | undefined;

/**
 * Shared-memory slots for a job, the last job's when they fit (giveSlots), else fresh
 * (sharedSlots). The plaintext slots were wiped when given back.
 */
export function takeSlots(count: number, plainBytes: number, sealedBytes: number): Slots {
  const s = spare;
  spare = undefined;
  if (s && s.slots.plain.length === count && s.plainBytes === plainBytes && s.sealedBytes === sealedBytes)
    return s.slots;
  return sharedSlots(count, plainBytes, sealedBytes);
}

/**
 * Keep `slots` (from takeSlots, their plaintext wiped, no thread using them any more) for the
 * next job; one set is kept.
 */
export function giveSlots(slots: Slots): void {
  const plainBytes = slots.plain[0]?.length ?? 0;
  const sealedBytes = slots.sealed[0]?.length ?? 0;
  if (slots.plain[0]?.buffer instanceof SharedArrayBuffer) spare = { slots, plainBytes, sealedBytes };
}

/** Shared-memory slots: `count` plaintext blocks of `plainBytes` and sealed blocks of `sealedBytes`. */
export function sharedSlots(count: number, plainBytes: number, sealedBytes: number): Slots {
  const make = (n: number): Buffer => Buffer.from(new SharedArrayBuffer(n));
  return {
    plain: Array.from({ length: count }, () => make(plainBytes)),
    sealed: Array.from({ length: count }, () => make(sealedBytes)),
  };
}

/** A 32-byte payload key in shared memory, for the workers to read; the caller wipes it. */
export function sharedKey(key: Uint8Array): Buffer {
  const shared = Buffer.from(new SharedArrayBuffer(key.length));
  shared.set(key);
  return shared;
}

/** A block that did not open, as the finisher reported it; `truncated`: the payload is shorter than a tag. */
export type OpenFailure =
  | { kind: 'chunk'; slot: number; chunk: number; index: number; bytes: number; last: boolean }
  | { kind: 'empty-final-chunk' }
  | { kind: 'truncated' };

/** One file's worth of work for the two threads. */
export interface BlockJobSpec {
  mode: 'seal' | 'open';
  slots: Slots;
  /** The payload key, from sharedKey. */
  key: Buffer;
  /** Chunks in a full block (the slots' size). */
  blockChunks: number;
  inFd: number;
  inStart: number;
  /** seal: the output file, written from offset 0. */
  outFd?: number;
  prefix: Buffer;
  /** Each block for the caller, in order (seal: plaintext before it is sealed; open: plaintext), and its input offset. */
  onBlock?: (block: Buffer, at: number) => void | Promise<void>;
  /** seal: onBlock sees only the blocks that start before this input offset (default: all). */
  onBlockBytes?: number;
  /**
   * seal: a self-contained function (no imports, no free names but JavaScript's own) run on
   * every plaintext block in order by the thread that read and hashed it, with `state`, which
   * must be in shared memory for the caller to read what the threads wrote.
   */
  scan?: { step: BlockScan; state: Float64Array };
  /** Input bytes done, after each block is written (seal) or seen (open). */
  onProgress?: (at: number) => void;
  /** The error to throw for a block that did not open. */
  failure?: (f: OpenFailure) => Error;
}

/** What the threads return: each side's SHA-256 and byte count (input payload; output: seal with prefix). */
export interface BlockJobResult {
  inSha256: string;
  inBytes: number;
  outSha256: string;
  outBytes: number;
}

/** An Error rebuilt from a worker's report, keeping the fs error's code. */
function rebuilt(ev: Extract<BlockEvent, { type: 'error' }>): Error {
  const e = new Error(ev.message) as NodeJS.ErrnoException;
  if (ev.code) e.code = ev.code;
  if (ev.errno !== undefined) e.errno = ev.errno;
  if (ev.syscall) e.syscall = ev.syscall;
  return e;
}

/** Write all of `buf` at `position` of `fd` (a write may be partial), through libuv's pool. */
function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void =>
      write(fd, buf, off, buf.length - off, position + off, (e, n) => {
        if (e) reject(e);
        else if (off + n < buf.length) step(off + n);
        else resolve();
      });
    step(0);
  });
}

/** Write all of `buf` at the start of `fd`. */
function writeAllSync(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off, off);
}

/** Run `spec` on two block threads (block-pool.ts); settles once both have finished it. */
export function runBlockJob(spec: BlockJobSpec): Promise<BlockJobResult> {
  const count = spec.slots.plain.length;
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (SLOT_BASE + count * SLOT_WORDS)));
  const [inSlots, outSlots] =
    spec.mode === 'seal' ? [spec.slots.plain, spec.slots.sealed] : [spec.slots.sealed, spec.slots.plain];
  const word = (slot: number, field: number): number => SLOT_BASE + slot * SLOT_WORDS + field;
  const changed = (): void => {
    Atomics.add(ctl, CTL_SEQ, 1);
    Atomics.notify(ctl, CTL_SEQ);
  };
  // seal: the prefix first, before the threads write blocks after it.
  if (spec.mode === 'seal') writeAllSync(spec.outFd as number, spec.prefix);
  return new Promise<BlockJobResult>((resolve, reject) => {
    let failure: Error | null = null;
    let exited = 0;
    let delivering: Promise<void> = Promise.resolve();
    const digests: Partial<Record<'reader' | 'finisher', { sha256: string; bytes: number }>> = {};
    // One write at a time, in file order: concurrent writes to one file contend in the kernel
    // (measured: more system time, taken from the thread that runs the caller's onBlock).
    let writing: Promise<void> = Promise.resolve();
    const letGo = (slot: number): void => {
      if (Atomics.sub(ctl, word(slot, F_HOLDERS), 1) === 1) {
        Atomics.store(ctl, word(slot, F_STATE), FREE);
        changed();
      }
    };
    const fail = (e: Error): void => {
      failure ??= e;
      Atomics.store(ctl, CTL_ABORT, 1);
      changed();
    };
    const settle = (): void => {
      if (exited < 2) return;
      // Both threads are done with the job, so neither still uses the files or the slots.
      void Promise.all([delivering, writing]).then(() => {
        if (failure) return reject(failure);
        const { reader, finisher } = digests;
        if (!reader || !finisher) return reject(new Error('block worker stopped early'));
        resolve({
          inSha256: reader.sha256,
          inBytes: reader.bytes,
          outSha256: finisher.sha256,
          outBytes: finisher.bytes,
        });
      });
    };
    const onEvent = (ev: BlockEvent): void => {
      switch (ev.type) {
        case 'block': {
          const { slot, bytes, at } = ev;
          // Blocks reach the caller one at a time, in order; the slot is let go after.
          delivering = delivering.then(async () => {
            try {
              if (!failure) await spec.onBlock?.((outOrIn(slot) as Buffer).subarray(0, bytes), at);
              // Opening, a block is done when the caller has seen it (sealing: the finisher says when written).
              if (!failure && spec.mode === 'open') spec.onProgress?.(at);
            } catch (e) {
              fail(e as Error);
            }
            letGo(slot);
          });
          return;
        }
        case 'write': {
          const { slot, bytes, position, at } = ev;
          writing = writing
            .then(() =>
              failure
                ? undefined
                : writeAt(spec.outFd as number, (outSlots[slot] as Buffer).subarray(0, bytes), position),
            )
            .then(
              () => {
                if (!failure) spec.onProgress?.(at);
                letGo(slot);
              },
              (e: Error) => fail(e),
            );
          return;
        }
        case 'failed': {
          const f: OpenFailure =
            ev.chunk < 0
              ? { kind: 'empty-final-chunk' }
              : {
                  kind: 'chunk',
                  slot: ev.slot,
                  chunk: ev.chunk,
                  index: ev.index,
                  bytes: Atomics.load(ctl, word(ev.slot, F_IN)),
                  last: Atomics.load(ctl, word(ev.slot, F_LAST)) === 1,
                };
          fail(spec.failure?.(f) ?? new Error('block did not open'));
          return;
        }
        case 'truncated':
          fail(spec.failure?.({ kind: 'truncated' }) ?? new Error('input is truncated'));
          return;
        case 'digest':
          digests[ev.role] = { sha256: ev.sha256, bytes: ev.bytes };
          return;
        case 'error':
          fail(rebuilt(ev));
          return;
        case 'exit':
          // That thread's function has returned: it no longer uses the files or the slots.
          exited++;
          settle();
          return;
      }
    };
    // The caller's view of a block: the plaintext (the input slot when sealing, the output when opening).
    const outOrIn = (slot: number): Buffer | undefined =>
      spec.mode === 'seal' ? inSlots[slot] : outSlots[slot];
    for (const role of ['reader', 'finisher'] as const) {
      const job: BlockJob = {
        role,
        mode: spec.mode,
        ctl,
        inSlots,
        outSlots,
        blockChunks: spec.blockChunks,
        key: spec.key,
        inFd: spec.inFd,
        inStart: spec.inStart,
        prefix: spec.prefix,
        onBlock: spec.onBlock !== undefined,
        onBlockBytes: spec.onBlockBytes ?? Number.POSITIVE_INFINITY,
        scanState: spec.scan?.state ?? null,
      };
      runOnBlockThread(job, spec.scan?.step.toString() ?? null, onEvent, (e) => {
        fail(e);
        exited++;
        settle();
      });
    }
  });
}
