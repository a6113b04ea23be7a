/**
 * A one-line progress bar with throughput on stderr, for long file operations (seal,
 * upload). Drawn only when stderr is a terminal, so scripts and `--json` output stay
 * clean; redrawn at most ten times a second. It shows bytes only: nothing about rows.
 */

/** What a long operation reports: bytes done of the total. */
export type ProgressCallback = (doneBytes: number, totalBytes: number) => void;

const WIDTH = 24;

/** `n` bytes as MB (10^6), one decimal. */
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/**
 * A progress callback that draws `label` with a bar, bytes and MB/s on `out` (stderr by
 * default) when it is a TTY, and `done()` to clear the line; both do nothing otherwise.
 */
export function progressBar(
  label: string,
  out: NodeJS.WriteStream = process.stderr,
): { update: ProgressCallback; done: () => void } {
  if (!out.isTTY) return { update: () => undefined, done: () => undefined };
  const start = performance.now();
  let last = 0;
  let drawn = false;
  const update: ProgressCallback = (doneBytes, totalBytes) => {
    const now = performance.now();
    if (now - last < 100 && doneBytes < totalBytes) return;
    last = now;
    const fraction = totalBytes > 0 ? Math.min(1, doneBytes / totalBytes) : 1;
    const filled = Math.round(fraction * WIDTH);
    const rate = doneBytes / 1e6 / Math.max((now - start) / 1000, 1e-3);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`;
    out.write(
      `\r${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${mb(doneBytes)} of ${mb(totalBytes)}, ${rate.toFixed(0)} MB/s`,
    );
    drawn = true;
  };
  const done = (): void => {
    if (drawn) out.write('\r\x1b[2K');
    drawn = false;
  };
  return { update, done };
}
