/**
 * What each store decryption thread runs (decrypt-pool.ts starts it from this function's
 * source text, so it is self-contained: no imports, node:crypto and node:fs come in as
 * `lib`). A request is a list of sealed column chunks (seal.ts: nonce ‖ ciphertext ‖ tag)
 * to read from the store's files and open into one output buffer, each at its own offset;
 * the buffer goes back to the calling thread by transfer (no copy), where the chunks'
 * Arrow data are views of it.
 *
 * Why here and not on the calling thread (measured at 1M rows, 3 columns): node:crypto's
 * `update()` returns a fresh buffer per call, and in the enclave's large isolate those
 * buffers' first touch and collection cost more than the cipher; in this thread's
 * near-empty isolate they are cheap, opened 64 KiB at a time (memory the allocator hands
 * back at once) and copied into the output, and two threads open a job's chunks while
 * the calling thread turns the ones already open into Arrow data.
 *
 * A chunk that does not read whole or does not authenticate stops the request: whatever
 * plaintext it wrote is wiped and its index reported; the caller names it (data-free).
 */
import type * as NodeCrypto from 'node:crypto';
import type * as NodeFs from 'node:fs';

/** One sealed chunk to open: where it is, what it is bound to, where its plaintext goes. */
export interface DecryptTask {
  fd: number;
  offset: number;
  length: number;
  /** The chunk's additional data (format.ts chunkAad), as text. */
  aad: string;
  /** Byte offset of its plaintext in the request's output. */
  at: number;
}

/** A request: the store key (shared memory the caller wipes), the chunks, the output's size. */
export interface DecryptRequest {
  id: number;
  key: Uint8Array;
  tasks: DecryptTask[];
  bytes: number;
  /** A buffer of an earlier request to write into when it is large enough (transferred). */
  reuse?: ArrayBuffer;
}

/** The reply: the output (transferred), and the index of the task that failed, or -1. */
export interface DecryptReply {
  id: number;
  out: ArrayBuffer;
  failed: number;
}

/** What the function is given: modules and the two ends of its message port. */
export interface DecryptLib {
  crypto: typeof NodeCrypto;
  fs: typeof NodeFs;
  onRequest: (handle: (req: DecryptRequest) => void) => void;
  reply: (reply: DecryptReply) => void;
}

/** Serve decryption requests one at a time until the thread is ended. */
export function storeDecryptThread(lib: DecryptLib): void {
  // Here, not at the top of the file: the thread runs this function's text alone.
  const NONCE = 12;
  const TAG = 16;
  const STEP = 64 * 1024;
  let sealed = Buffer.alloc(0);
  lib.onRequest((req) => {
    const key = Buffer.from(req.key.buffer, req.key.byteOffset, req.key.byteLength);
    const out = req.reuse && req.reuse.byteLength >= req.bytes ? req.reuse : new ArrayBuffer(req.bytes);
    const view = Buffer.from(out);
    let failed = -1;
    for (let t = 0; t < req.tasks.length && failed < 0; t++) {
      const task = req.tasks[t] as DecryptTask;
      try {
        if (sealed.length < task.length)
          sealed = Buffer.allocUnsafe(Math.max(task.length, 2 * sealed.length));
        let got = 0;
        while (got < task.length) {
          const n = lib.fs.readSync(task.fd, sealed, got, task.length - got, task.offset + got);
          if (n === 0) break;
          got += n;
        }
        if (got !== task.length || got < NONCE + TAG) {
          failed = t;
          break;
        }
        const decipher = lib.crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
        decipher.setAAD(Buffer.from(task.aad));
        decipher.setAuthTag(sealed.subarray(got - TAG, got));
        let at = task.at;
        for (let i = NONCE; i < got - TAG; i += STEP) {
          const plain = decipher.update(sealed.subarray(i, Math.min(got - TAG, i + STEP)));
          plain.copy(view, at);
          at += plain.length;
          plain.fill(0);
        }
        decipher.final();
      } catch {
        failed = t;
      }
    }
    // Nothing of a request that failed goes back: not its other chunks either.
    if (failed >= 0) view.fill(0);
    lib.reply({ id: req.id, out, failed });
  });
}
