/**
 * STREAM blocks sealed, opened and hashed in worker threads, over shared-memory slots.
 *
 * An age payload is a sequence of independent 64 KiB ChaCha20-Poly1305 chunks, each under a
 * nonce made of its index and a last-chunk flag (stream.ts). So a block of chunks can be
 * sealed or opened by any thread that holds the payload key and knows the block's first
 * chunk index: sealFile and unsealFile hand alternate blocks to two workers, which also keep
 * the file's two SHA-256 commitments (each hash is sequential, so one worker owns each and
 * is given the blocks in order). The main thread only reads, writes and orchestrates.
 *
 * Why workers and not the main thread (measured, BENCHMARKS.md "Sealing"): node:crypto's
 * `update()` allocates a fresh output buffer per chunk, and in a large isolate (the CLI, the
 * enclave) the garbage collection those allocations trigger cost more than the cipher itself;
 * in a worker's near-empty isolate it is cheap. The cipher output is copied once, into the
 * slot the main thread writes from, so the main thread allocates nothing per block.
 *
 * The payload key sits in a SharedArrayBuffer that both workers read and the caller wipes;
 * it is never copied into a message. Slots are wiped by the caller when it is done.
 */
import { Worker } from 'node:worker_threads';

/** The rings of reusable buffers a job moves through: plaintext and sealed blocks. */
export interface Slots {
  plain: Buffer[];
  sealed: Buffer[];
}

/** Requests a block worker answers, in the order it is given them. */
export type BlockRequest =
  /** Seal the `bytes` of plain slot `slot` as chunks `first`…; `last`: its final chunk ends the payload. */
  | { op: 'seal'; slot: number; bytes: number; first: number; last: boolean }
  /**
   * Open the `bytes` of sealed slot `slot` (whole sealed chunks, the final one possibly
   * short) as chunks `first`…; `last`: its final chunk ends the payload. Answers
   * `{ bytes }`, or `{ failedChunk }` (index within the block) when a chunk does not
   * authenticate: the caller classifies the failure.
   */
  | { op: 'open'; slot: number; bytes: number; first: number; last: boolean }
  /** Feed the first `bytes` of a slot to the hash of that side. */
  | { op: 'hash'; side: 'plain' | 'sealed'; slot: number; bytes: number }
  /** Feed bytes held in no slot (the header) to the hash of a side. */
  | { op: 'hashBytes'; side: 'plain' | 'sealed'; data: Uint8Array }
  /** Hex SHA-256 of both sides so far (each worker answers for the side it was fed). */
  | { op: 'digest' };

/** A worker's answer: the byte count of a sealed or opened block, a failed chunk, or digests. */
export interface BlockReply {
  bytes?: number;
  failedChunk?: number;
  plain?: string;
  sealed?: string;
}

/**
 * The worker's code: plain JS with dynamic imports, so it runs the same whether the parent
 * runs as CommonJS or ESM, under node, tsx or vitest. Messages sent before the imports
 * resolve wait in the port's queue. Chunk layout and nonces follow stream.ts exactly.
 */
const WORKER_SOURCE = `
Promise.all([import('node:worker_threads'), import('node:crypto')]).then(([{ parentPort, workerData }, crypto]) => {
  const CHUNK = ${64 * 1024}, TAG = 16;
  const plain = workerData.plain.map((b) => Buffer.from(b));
  const sealed = workerData.sealed.map((b) => Buffer.from(b));
  const key = Buffer.from(workerData.key);
  const nonce = Buffer.alloc(12);
  const hashes = { plain: crypto.createHash('sha256'), sealed: crypto.createHash('sha256') };
  const setNonce = (index, last) => {
    for (let i = 10, x = index; i >= 0; i--, x = Math.floor(x / 256)) nonce[i] = x % 256;
    nonce[11] = last ? 1 : 0;
  };
  const seal = (m) => {
    const p = plain[m.slot], out = sealed[m.slot];
    const chunks = Math.max(1, Math.ceil(m.bytes / CHUNK));
    let at = 0;
    for (let c = 0; c < chunks; c++) {
      setNonce(m.first + c, m.last && c === chunks - 1);
      const cipher = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
      const ct = cipher.update(p.subarray(c * CHUNK, Math.min(m.bytes, (c + 1) * CHUNK)));
      cipher.final();
      at += ct.copy(out, at);
      at += cipher.getAuthTag().copy(out, at);
    }
    return { bytes: at };
  };
  const open = (m) => {
    const s = sealed[m.slot], out = plain[m.slot];
    const chunks = Math.max(1, Math.ceil(m.bytes / (CHUNK + TAG)));
    let at = 0;
    for (let c = 0; c < chunks; c++) {
      const start = c * (CHUNK + TAG), end = Math.min(m.bytes, start + CHUNK + TAG);
      if (end - start < TAG) return { failedChunk: c };
      setNonce(m.first + c, m.last && c === chunks - 1);
      const decipher = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
      decipher.setAuthTag(s.subarray(end - TAG, end));
      const pt = decipher.update(s.subarray(start, end - TAG));
      try {
        decipher.final();
      } catch {
        pt.fill(0);
        out.fill(0, 0, at);
        return { failedChunk: c };
      }
      at += pt.copy(out, at);
      pt.fill(0);
    }
    return { bytes: at };
  };
  parentPort.on('message', (m) => {
    let reply;
    try {
      if (m.op === 'seal') reply = seal(m);
      else if (m.op === 'open') reply = open(m);
      else if (m.op === 'hash') {
        hashes[m.side].update((m.side === 'plain' ? plain : sealed)[m.slot].subarray(0, m.bytes));
        reply = {};
      } else if (m.op === 'hashBytes') {
        hashes[m.side].update(m.data);
        reply = {};
      } else if (m.op === 'digest') reply = { plain: hashes.plain.digest('hex'), sealed: hashes.sealed.digest('hex') };
      else throw new Error('unknown request');
    } catch (e) {
      reply = { error: String(e && e.message) };
    }
    parentPort.postMessage(reply);
  });
});
`;

type Waiter = { resolve: (reply: BlockReply) => void; reject: (e: Error) => void };

/** One block worker: requests are answered in order. */
export interface BlockWorker {
  request(message: BlockRequest): Promise<BlockReply>;
}

/** Two block workers over the same slots and payload key, and their shutdown. */
export interface BlockPool {
  readonly workers: readonly [BlockWorker, BlockWorker];
  /** Stop both threads; safe to call more than once. The caller wipes the key and slots. */
  close(): Promise<void>;
}

/** The two SHA-256 commitments a pool kept (the first worker hashes plaintext, the second ciphertext). */
export async function poolDigests(
  pool: BlockPool,
): Promise<{ plaintextSha256: string; ciphertextSha256: string }> {
  const [plainWorker, sealedWorker] = pool.workers;
  const [p, c] = await Promise.all([
    plainWorker.request({ op: 'digest' }),
    sealedWorker.request({ op: 'digest' }),
  ]);
  return { plaintextSha256: p.plain as string, ciphertextSha256: c.sealed as string };
}

function startWorker(slots: Slots, key: Buffer, onFailure: (e: Error) => void): [BlockWorker, Worker] {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // The code needs no loader: skip the parent's flags (tsx, --input-type) for a fast, predictable start.
    execArgv: [],
    workerData: {
      plain: slots.plain.map((b) => b.buffer),
      sealed: slots.sealed.map((b) => b.buffer),
      key: key.buffer,
    },
  });
  // Replies come back in request order, so a FIFO of waiters matches them.
  const waiters: Waiter[] = [];
  let failure: Error | null = null;
  const fail = (e: Error): void => {
    failure ??= e;
    for (const w of waiters.splice(0)) w.reject(failure);
    onFailure(failure);
  };
  worker.on('message', (m: BlockReply & { error?: string }) => {
    const w = waiters.shift();
    if (m.error !== undefined) w?.reject(new Error(`block worker: ${m.error}`));
    else w?.resolve(m);
  });
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('block worker exited')));
  const request = (message: BlockRequest): Promise<BlockReply> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      waiters.push({ resolve, reject });
      worker.postMessage(message);
    });
  return [{ request }, worker];
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

/** Start two block workers over `slots` with the payload key `key` (from sharedKey). */
export function startBlockPool(slots: Slots, key: Buffer): BlockPool {
  const threads: Worker[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(threads.map((t) => t.terminate()));
  };
  // When one worker fails, stop the other too: nothing it does can be used.
  const onFailure = (): void => void close();
  const [a, ta] = startWorker(slots, key, onFailure);
  const [b, tb] = startWorker(slots, key, onFailure);
  threads.push(ta, tb);
  return { workers: [a, b], close };
}
