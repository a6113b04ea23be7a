/**
 * What each of the two block threads runs (block-crypt.ts starts them from this function's
 * source text, so it is self-contained: no imports, its helpers come in as `lib`).
 *
 * The threads drive themselves: they read, seal or open, hash and write without a round trip
 * through the calling thread, which under load is the costly part (every hop waits for a
 * thread to be scheduled). They meet over shared memory: a ring of slots, each with a state
 * word, and one change counter they sleep on (Atomics.wait) when there is nothing to do.
 *
 * - The reader reads the input in order into the ring and keeps the input side's SHA-256
 *   (seal: the plaintext; open: the whole age file, header first).
 * - The finisher takes the blocks in order, keeps the output side's SHA-256 and hands each
 *   block to the calling thread (seal: to write it to the output file at its offset; open:
 *   for the caller). Writes are not done here: a write can stall for a while (the kernel
 *   throttles writers of dirty pages), and in this thread it would stall the hash and the
 *   cipher with it; the calling thread's writes go to libuv's pool, several at a time.
 * - The cipher work of a block goes to whichever of them gets to it first: the finisher when
 *   it reaches the block, or the reader when the ring is full and it would otherwise wait
 *   (it takes the newest block, furthest from the finisher). So the two share the cipher
 *   in whatever proportion balances their other work.
 *
 * A slot is free again when every holder let go of it: the finisher, and the calling thread
 * when it has written the block, or seen it (`onBlock`). The calling thread can stop both by setting the abort
 * word; a thread that fails sets it too and reports its error.
 */
import type * as NodeCrypto from 'node:crypto';
import type * as NodeFs from 'node:fs';
import type { ChunkCipher, openChunks, sealChunks } from './block-chunks.ts';

/** Control words (an Int32Array over shared memory): the abort flag and the change counter. */
export const CTL_ABORT = 0;
export const CTL_SEQ = 1;
/** Per slot, from SLOT_BASE: state, holders, input bytes, output bytes (or -1 - failed chunk), last, block index. */
export const SLOT_BASE = 4;
export const SLOT_WORDS = 6;
export const F_STATE = 0;
export const F_HOLDERS = 1;
export const F_IN = 2;
export const F_OUT = 3;
export const F_LAST = 4;
export const F_INDEX = 5;
/** Slot states. */
export const FREE = 0;
export const READ = 1;
export const CLAIMED = 2;
export const DONE = 3;

/** What the calling thread gives each thread (workerData). */
export interface BlockJob {
  role: 'reader' | 'finisher';
  mode: 'seal' | 'open';
  ctl: Int32Array;
  /** Input and output slots (seal: plaintext in, sealed out; open: the reverse). */
  inSlots: Uint8Array[];
  outSlots: Uint8Array[];
  /** Chunks a full block holds. */
  blockChunks: number;
  key: Uint8Array;
  inFd: number;
  /** Where the payload starts in the input (open: after the header and nonce). */
  inStart: number;
  /** The header and payload nonce: the age file's first bytes, hashed first on that side. */
  prefix: Uint8Array;
  /** Whether the calling thread sees each block (seal: after reading; open: after opening). */
  onBlock: boolean;
  /** seal: the calling thread sees only the blocks that start before this input offset (Infinity: all). */
  onBlockBytes: number;
  /** seal: the state the `scan` function (BlockLib) keeps over every plaintext block, in shared memory. */
  scanState: Float64Array | null;
}

/** Messages a thread posts to the calling thread. */
export type BlockEvent =
  /** A block for the calling thread (it lets go of the slot when done); `at`: input bytes up to its end. */
  | { type: 'block'; slot: number; bytes: number; at: number }
  /** seal: write the block in `slot` at `position` of the output, then let go of it; `at`: plaintext bytes up to its end. */
  | { type: 'write'; slot: number; bytes: number; position: number; at: number }
  /** A block did not open: chunk `chunk` of slot `slot` (-1: its final chunk is empty). */
  | { type: 'failed'; slot: number; chunk: number; index: number }
  /** open: the first read held less than a tag. */
  | { type: 'truncated' }
  /** A thread's hash and byte count, when it has done its part. */
  | { type: 'digest'; role: 'reader' | 'finisher'; sha256: string; bytes: number }
  | { type: 'error'; message: string; code?: string; errno?: number; syscall?: string }
  | { type: 'exit' };

/** What the function is given besides its job: modules and the two chunk loops. */
export interface BlockLib {
  crypto: typeof NodeCrypto;
  fs: typeof NodeFs;
  post: (event: BlockEvent) => void;
  sealChunks: typeof sealChunks;
  openChunks: typeof openChunks;
  /** seal: run by the reader on each plaintext block in file order, after hashing it (e.g. to count rows). */
  scan: BlockScan | null;
}

/** A self-contained function over a block and a state it keeps in shared memory (its source text runs in the thread). */
export type BlockScan = (state: Float64Array, block: Uint8Array) => void;

/** Run one thread's role to the end of the input or an abort; posts digest (or error), then exit. */
export function blockThread(job: BlockJob, lib: BlockLib): void {
  const { ctl, mode, role } = job;
  const count = job.inSlots.length;
  const inSlots = job.inSlots.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const outSlots = job.outSlots.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const cipher: ChunkCipher = {
    crypto: lib.crypto,
    key: Buffer.from(job.key.buffer, job.key.byteOffset, job.key.byteLength),
    nonce: Buffer.alloc(12),
  };
  const word = (slot: number, field: number): number => SLOT_BASE + slot * SLOT_WORDS + field;
  const get = (slot: number, field: number): number => Atomics.load(ctl, word(slot, field));
  const set = (slot: number, field: number, v: number): void => {
    Atomics.store(ctl, word(slot, field), v);
  };
  const changed = (): void => {
    Atomics.add(ctl, CTL_SEQ, 1);
    Atomics.notify(ctl, CTL_SEQ);
  };
  const aborted = (): boolean => Atomics.load(ctl, CTL_ABORT) !== 0;
  // Sleep until something changes (or 50 ms, a safety net); false when the job was aborted.
  const sleep = (seen: number): boolean => {
    if (aborted()) return false;
    Atomics.wait(ctl, CTL_SEQ, seen, 50);
    return !aborted();
  };
  const release = (slot: number): void => {
    if (Atomics.sub(ctl, word(slot, F_HOLDERS), 1) === 1) {
      set(slot, F_STATE, FREE);
      changed();
    }
  };
  // The cipher work of a slot that this thread has claimed.
  const crypt = (slot: number): void => {
    const first = get(slot, F_INDEX) * job.blockChunks;
    const last = get(slot, F_LAST) === 1;
    const bytes = get(slot, F_IN);
    const input = inSlots[slot] as Buffer;
    const output = outSlots[slot] as Buffer;
    const n =
      mode === 'seal'
        ? lib.sealChunks(cipher, input, bytes, output, first, last)
        : lib.openChunks(cipher, input, bytes, output, first, last);
    set(slot, F_OUT, n);
    set(slot, F_STATE, DONE);
    changed();
  };
  // Claim and run the newest block still waiting for its cipher; false when there is none.
  const steal = (): boolean => {
    let best = -1;
    for (let s = 0; s < count; s++) {
      if (get(s, F_STATE) === READ && (best < 0 || get(s, F_INDEX) > get(best, F_INDEX))) best = s;
    }
    if (best < 0 || Atomics.compareExchange(ctl, word(best, F_STATE), READ, CLAIMED) !== READ) return false;
    crypt(best);
    return true;
  };
  const readAt = (buf: Buffer, position: number): number => {
    let filled = 0;
    while (filled < buf.length) {
      const n = lib.fs.readSync(job.inFd, buf, filled, buf.length - filled, position + filled);
      if (n === 0) break;
      filled += n;
    }
    return filled;
  };

  const reader = (): void => {
    const hash = lib.crypto.createHash('sha256');
    if (mode === 'open') hash.update(job.prefix);
    let position = job.inStart;
    let total = 0;
    // Wait for a slot to be free, doing other blocks' cipher work meanwhile.
    const claim = (slot: number): boolean => {
      for (;;) {
        const seen = Atomics.load(ctl, CTL_SEQ);
        if (get(slot, F_STATE) === FREE) return true;
        if (!steal() && !sleep(seen)) return false;
      }
    };
    let slot = 0;
    if (!claim(slot)) return;
    let bytes = readAt(inSlots[slot] as Buffer, position);
    if (mode === 'open' && bytes < 16) {
      lib.post({ type: 'truncated' });
      return;
    }
    const seal = mode === 'seal';
    for (let index = 0; ; index++) {
      const next = (slot + 1) % count;
      // seal: whether the calling thread sees this block (it holds the slot until it has).
      const shown = seal && job.onBlock && position < job.onBlockBytes;
      // A full block may be the last one: read ahead to know whether its final chunk ends the payload.
      let nextBytes = 0;
      if (bytes === (inSlots[slot] as Buffer).length) {
        if (!claim(next)) return;
        nextBytes = readAt(inSlots[next] as Buffer, position + bytes);
      }
      position += bytes;
      total += bytes;
      hash.update((inSlots[slot] as Buffer).subarray(0, bytes));
      if (seal && lib.scan && job.scanState)
        lib.scan(job.scanState, (inSlots[slot] as Buffer).subarray(0, bytes));
      set(slot, F_IN, bytes);
      set(slot, F_LAST, nextBytes === 0 ? 1 : 0);
      set(slot, F_INDEX, index);
      set(slot, F_HOLDERS, shown ? 2 : 1);
      set(slot, F_STATE, READ);
      changed();
      if (shown) lib.post({ type: 'block', slot, bytes, at: position });
      if (nextBytes === 0) break;
      slot = next;
      bytes = nextBytes;
    }
    lib.post({ type: 'digest', role, sha256: hash.digest('hex'), bytes: total });
    // Help with the cipher work left while the finisher catches up.
    while (!aborted() && steal());
  };

  const finisher = (): void => {
    const hash = lib.crypto.createHash('sha256');
    // seal: where the next block goes in the output, which starts with the prefix.
    let outAt = job.prefix.length;
    if (mode === 'seal') hash.update(job.prefix);
    let at = job.inStart;
    let plain = 0;
    for (let index = 0, slot = 0; ; index++, slot = (slot + 1) % count) {
      // Wait for block `index` in its slot, and for its cipher work (doing it if nobody has).
      for (;;) {
        const seen = Atomics.load(ctl, CTL_SEQ);
        // The index first: the reader writes it before the state, so a matching index and a
        // state read after it belong to the same block.
        const mine = get(slot, F_INDEX) === index;
        const state = get(slot, F_STATE);
        if (mine && state !== FREE) {
          if (state === DONE) break;
          if (state === READ && Atomics.compareExchange(ctl, word(slot, F_STATE), READ, CLAIMED) === READ) {
            crypt(slot);
            break;
          }
        }
        if (!sleep(seen)) return;
      }
      const n = get(slot, F_OUT);
      const last = get(slot, F_LAST) === 1;
      const inBytes = get(slot, F_IN);
      at += inBytes;
      if (n < 0) {
        lib.post({ type: 'failed', slot, chunk: -1 - n, index });
        return;
      }
      if (mode === 'open' && last && index * job.blockChunks + Math.ceil(inBytes / (65536 + 16)) > 1) {
        // The last chunk may be empty only when it is the only one (age spec, "Payload").
        const tail = inBytes - (Math.ceil(inBytes / (65536 + 16)) - 1) * (65536 + 16);
        if (tail === 16) {
          lib.post({ type: 'failed', slot, chunk: -1, index });
          return;
        }
      }
      const output = (outSlots[slot] as Buffer).subarray(0, n);
      hash.update(output);
      // The calling thread lets go of the slot when it has written the block (seal) or seen it (open).
      Atomics.add(ctl, word(slot, F_HOLDERS), 1);
      if (mode === 'seal') {
        lib.post({ type: 'write', slot, bytes: n, position: outAt, at });
        outAt += n;
      } else {
        plain += n;
        lib.post({ type: 'block', slot, bytes: n, at });
      }
      release(slot);
      if (last) break;
    }
    lib.post({ type: 'digest', role, sha256: hash.digest('hex'), bytes: mode === 'seal' ? outAt : plain });
  };

  try {
    if (role === 'reader') reader();
    else finisher();
  } catch (e) {
    Atomics.store(ctl, CTL_ABORT, 1);
    changed();
    const err = e as NodeJS.ErrnoException;
    lib.post({
      type: 'error',
      message: String(err?.message),
      ...(err?.code ? { code: err.code } : {}),
      ...(err?.errno !== undefined ? { errno: err.errno } : {}),
      ...(err?.syscall ? { syscall: err.syscall } : {}),
    });
  }
  lib.post({ type: 'exit' });
}
