/** How CLI commands talk to people and machines: `--json` for machines, short lines for people. */
import { type Problem, problemBody } from '../contracts/problem.ts';
import { errorMessage, isObscuraError } from '../common/errors.ts';

/**
 * Exit code of `run --wait` (without --wait-approval) and `run --dry-run` when the job waits
 * only for its owners' approval: neither a success (1 would read as refused) nor a failure.
 */
export const EXIT_AWAITING_APPROVAL = 3;

/** Options every command accepts. */
export interface GlobalOptions {
  api: string;
  json: boolean;
}

/** Print a value: as JSON with --json, else as the given text. */
export function emit(opts: { json?: boolean }, value: unknown, text: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/** A failure as a problem document (RFC 9457), for --json: one JSON line, never a stack. */
export function failureProblem(e: unknown): Problem {
  if (isObscuraError(e)) return problemBody(e.status, e.code, e.message);
  return problemBody(500, 'internal', errorMessage(e).split('\n')[0] ?? 'failed');
}

/** A one-line message for a failure: the error's message and its code, never a stack. */
export function failureLine(e: unknown): string {
  if (isObscuraError(e)) return `obscura: ${e.message} (${e.code})`;
  return `obscura: ${errorMessage(e).split('\n')[0]}`;
}

/** A progress line on stderr that redraws itself on a terminal. */
export function progressLine(fraction: number, message: string): void {
  const width = 24;
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${message}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${bar}`);
  else process.stderr.write(`${bar}\n`);
}

/** End a progress line. */
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}
