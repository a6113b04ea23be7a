/**
 * The shared buffer an upload's plaintext is decrypted into (datasets.ts decryptSealedInput),
 * kept for the next upload once its plaintext is wiped. Fresh memory is first-touch page
 * faults on these machines: a new 46 MiB buffer (1M rows) cost about 0.028 CPU s to fill
 * against 0.004 for one already touched (measured 2026-12-07).
 *
 * It is kept only up to KEEP_MAX_BYTES (larger uploads are rare and mostly streamed) and
 * only for KEEP_MS after it was given back, so an idle enclave does not hold it. It is
 * always wiped when given back: no plaintext outlives its upload.
 */

/** Largest buffer kept between uploads. */
export const KEEP_MAX_BYTES = 128 * 1024 * 1024;
/** How long a kept buffer waits for the next upload. */
const KEEP_MS = 30_000;

let kept: Buffer | undefined;
let dropTimer: NodeJS.Timeout | undefined;

/**
 * A buffer of `bytes` bytes in shared memory (the parse threads read it in place): the kept
 * one when it is large enough, else a fresh one; all zeros. The caller gives it back with
 * givePlaintextBuffer, which wipes it.
 */
export function takePlaintextBuffer(bytes: number): Buffer {
  const k = kept;
  kept = undefined;
  clearTimeout(dropTimer);
  if (k && k.length >= bytes) return k.subarray(0, bytes);
  return Buffer.from(new SharedArrayBuffer(bytes));
}

/**
 * Wipe `buf` (a view from takePlaintextBuffer, or any plaintext buffer; nothing may use it any
 * more, nor anything it was handed to) and keep its shared memory for the next upload. The
 * kept buffer is all zeros: every upload wipes what it wrote. `wiped`: every byte of `buf`
 * is zero already (the parse threads wiped it: csv-pieces.ts), so it is not written again.
 */
export function givePlaintextBuffer(buf: Buffer, wiped = false): void {
  if (!wiped) buf.fill(0);
  const shared = buf.buffer;
  if (!(shared instanceof SharedArrayBuffer) || shared.byteLength > KEEP_MAX_BYTES) return;
  if (kept && kept.length >= shared.byteLength) return;
  kept = Buffer.from(shared);
  clearTimeout(dropTimer);
  dropTimer = setTimeout(() => {
    kept = undefined;
  }, KEEP_MS);
  dropTimer.unref();
}
