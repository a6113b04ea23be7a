/**
 * The SHA-256 commitments of a file being sealed: one hash over the plaintext and one over
 * the whole age file, fed block by block from a ring of reusable buffers ("slots").
 *
 * SHA-256 is sequential, and hashing both sides costs more CPU than the encryption itself,
 * so for large files the hashing runs in a worker thread that reads the slots through
 * shared memory (no copies) while the main thread encrypts and does the I/O. Small files
 * hash inline, where starting a thread would cost more than it saves.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Ring buffers shared by the sealer and the hasher: plaintext slots and sealed slots. */
export interface Slots {
  plain: Buffer[];
  sealed: Buffer[];
}

/** Hashes blocks in the order they are given. */
export interface SealHasher {
  readonly slots: Slots;
  /** Ciphertext that precedes the first block (header and payload nonce). */
  prefix(bytes: Uint8Array): void;
  /** Hash the first bytes of slot `slot` (plaintext and sealed); resolves when the slot may be reused. */
  block(slot: number, plainBytes: number, sealedBytes: number): Promise<void>;
  /** Hex digests of everything hashed. Call once, after the last block. */
  digest(): Promise<{ plain: string; sealed: string }>;
  /** Release the hasher (stop its thread, zero the slots); safe to call more than once. */
  close(): Promise<void>;
}

function makeSlots(count: number, plainBytes: number, sealedBytes: number, shared: boolean): Slots {
  const make = (n: number): Buffer => (shared ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.alloc(n));
  return {
    plain: Array.from({ length: count }, () => make(plainBytes)),
    sealed: Array.from({ length: count }, () => make(sealedBytes)),
  };
}

function wipe(slots: Slots): void {
  for (const b of slots.plain) b.fill(0);
}

/** A hasher that hashes on the calling thread. */
export function inlineHasher(count: number, plainBytes: number, sealedBytes: number): SealHasher {
  const slots = makeSlots(count, plainBytes, sealedBytes, false);
  const plain = createHash('sha256');
  const sealed = createHash('sha256');
  return {
    slots,
    prefix: (bytes) => void sealed.update(bytes),
    block: async (slot, p, s) => {
      plain.update((slots.plain[slot] as Buffer).subarray(0, p));
      sealed.update((slots.sealed[slot] as Buffer).subarray(0, s));
    },
    digest: async () => ({ plain: plain.digest('hex'), sealed: sealed.digest('hex') }),
    close: async () => wipe(slots),
  };
}

/**
 * The worker's code: plain JS with dynamic imports, so it runs the same whether the parent
 * runs as CommonJS or ESM, under node, tsx or vitest. Messages sent before the imports
 * resolve wait in the port's queue.
 */
const WORKER_SOURCE = `
Promise.all([import('node:worker_threads'), import('node:crypto')]).then(([{ parentPort, workerData }, { createHash }]) => {
  const plainSlots = workerData.plain.map((b) => Buffer.from(b));
  const sealedSlots = workerData.sealed.map((b) => Buffer.from(b));
  const plain = createHash('sha256');
  const sealed = createHash('sha256');
  parentPort.on('message', (m) => {
    if (m.prefix) {
      sealed.update(m.prefix);
    } else if (m.end) {
      parentPort.postMessage({ plain: plain.digest('hex'), sealed: sealed.digest('hex') });
    } else {
      plain.update(plainSlots[m.slot].subarray(0, m.plainBytes));
      sealed.update(sealedSlots[m.slot].subarray(0, m.sealedBytes));
      parentPort.postMessage({ slot: m.slot });
    }
  });
});
`;

type Waiter = { resolve: (value: unknown) => void; reject: (e: Error) => void };

/** A hasher that hashes in a worker thread over shared-memory slots. */
export function workerHasher(count: number, plainBytes: number, sealedBytes: number): SealHasher {
  const slots = makeSlots(count, plainBytes, sealedBytes, true);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // The code needs no loader: skip the parent's flags (tsx, --input-type) for a fast, predictable start.
    execArgv: [],
    workerData: { plain: slots.plain.map((b) => b.buffer), sealed: slots.sealed.map((b) => b.buffer) },
  });
  // Replies come back in request order, so a FIFO of waiters matches them.
  const waiters: Waiter[] = [];
  let failure: Error | null = null;
  let closed = false;
  const fail = (e: Error): void => {
    failure ??= e;
    for (const w of waiters.splice(0)) w.reject(failure);
  };
  worker.on('message', (m: unknown) => waiters.shift()?.resolve(m));
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('hash worker exited')));
  const request = (message: object): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      waiters.push({ resolve, reject });
      worker.postMessage(message);
    });
  return {
    slots,
    prefix: (bytes) => worker.postMessage({ prefix: Buffer.from(bytes) }),
    block: async (slot, p, s) => void (await request({ slot, plainBytes: p, sealedBytes: s })),
    digest: async () => (await request({ end: true })) as { plain: string; sealed: string },
    close: async () => {
      if (closed) return;
      closed = true;
      await worker.terminate();
      wipe(slots);
    },
  };
}
