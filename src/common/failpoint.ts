/**
 * Test hook for the crash harness (test/faults/): named points in the host's write paths
 * where a test can have the process die at once, as a power cut or `kill -9` would, to check
 * what a restart recovers. Like FoundationDB's buggify or fail-rs, but a single switch: the
 * environment variable OBSCURA_FAILPOINT names one point, and the process SIGKILLs itself
 * when it reaches it. Inert unless the variable is set; operators never set it.
 */

/** The points, in the order a dataset, a job and a policy update pass them. */
export const FAILPOINTS = [
  /** An upload's sealed file is staged in blobs/tmp, not yet checked by the enclave. */
  'upload.staged',
  /** The enclave accepted the upload; its blob is not committed yet. */
  'upload.validated',
  /** The blob is committed under its hash; the dataset is not recorded yet. */
  'upload.committed',
  /** A job is running inside the enclave (it has opened its inputs). */
  'job.running',
  /** A DP job's spend is committed in the enclave's sealed ledger; its head is not on chain yet. */
  'spend.committed',
  /** A ledger entry's head is on chain; the host has not recorded it. */
  'ledger.anchored',
  /** A result's hash is anchored on chain; the result is not stored yet. */
  'result.anchored',
  /** The enclave applied a policy update; the host has not recorded it in force. */
  'policy.applied',
] as const;
/** A failpoint name. */
export type Failpoint = (typeof FAILPOINTS)[number];

/** Die here (SIGKILL, no cleanup) if OBSCURA_FAILPOINT names this point; otherwise do nothing. */
export function failpoint(name: Failpoint): void {
  if (process.env.OBSCURA_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}
