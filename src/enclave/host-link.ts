/**
 * The enclave's tie to its host: it lives only while the host's IPC channel is open.
 *
 * It ends by SIGKILL, not process.exit: exiting joins libuv's threads, and a DuckDB query in
 * flight holds one that waits on this thread for its table function (data/duckdb-scan.ts),
 * so an enclave whose host died mid-job hung in exit for good, holding its memory and
 * identity (seen after crash tests). Nothing is lost by it: the enclave's files are written
 * whole or not at all, as for any crash.
 */

/** End this process now, whatever it is doing. */
export function endNow(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before kill() returns to a process signalling itself.
  throw new Error('unreachable');
}

/** End this process when the host's channel closes (listened for before any await). */
export function endWithHost(): void {
  process.on('disconnect', endNow);
}
