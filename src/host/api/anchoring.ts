/**
 * Anchoring through chain outages. Nothing is released without its anchor, so when the chain
 * (embedded or remote) cannot be reached, whatever waits for an anchor (a result's hash, a
 * ledger entry's head) waits: it retries with exponential backoff until the chain takes it or
 * the host stops (what it anchors is kept on disk first, so the next start resumes it). The
 * outage is visible meanwhile: the jobs concerned are `anchoring`, and /v1/health reports the
 * chain as degraded with the reason.
 */
import { isObscuraError, ObscuraError } from '../../common/errors.ts';
import type { HostLog } from './context.ts';

/** Errors that waiting cannot fix: the request itself is wrong, or the host has no key to sign with. */
const PERMANENT = new Set(['anchor_invalid', 'operator_missing']);

/** First wait after a failed attempt, and the longest; doubled each time in between. */
export const BACKOFF = { firstMs: 500, maxMs: 15_000 } as const;

/** What the host knows of its chain from its own attempts to anchor. */
export class ChainHealth {
  #down: { since: string; reason: string } | undefined;
  #waiting = 0;
  /** True from the start until the runner has resumed what the last stop left unanchored. */
  recovering = true;

  /** The last attempt failed (with a data-free reason: the chain's error message). */
  down(reason: string): void {
    this.#down ??= { since: new Date().toISOString(), reason };
    this.#down.reason = reason;
  }

  /** An attempt succeeded. */
  up(): void {
    this.#down = undefined;
  }

  /** The outage in progress, if the last attempt failed. */
  get outage(): { since: string; reason: string } | undefined {
    return this.#down ? { ...this.#down } : undefined;
  }

  /** How many anchors are waiting for the chain now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Count an anchor as waiting while `work` runs. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#waiting++;
    try {
      return await work();
    } finally {
      this.#waiting--;
    }
  }
}

/** The error an anchor wait ends with when the host stops: the anchor resumes at the next start. */
export function hostStopping(): ObscuraError {
  return new ObscuraError(
    'host_stopping',
    'the host is stopping; the anchor resumes when it starts again',
    503,
  );
}

/**
 * Run `attempt` until it succeeds, waiting with exponential backoff after each failure and
 * calling `onWait` with a message the first time and after each failure. Throws a permanent
 * error at once, and 'host_stopping' once `signal` aborts.
 */
export async function untilAnchored<T>(
  what: string,
  attempt: () => Promise<T>,
  opts: { health: ChainHealth; log: HostLog; signal: AbortSignal; onWait?: (message: string) => void },
): Promise<T> {
  const { health, log, signal } = opts;
  return health.track(async () => {
    let delay: number = BACKOFF.firstMs;
    for (let tries = 1; ; tries++) {
      if (signal.aborted) throw hostStopping();
      try {
        const out = await attempt();
        if (health.outage) log('info', `chain reachable again: ${what} anchored after ${tries} attempts`);
        health.up();
        return out;
      } catch (e) {
        if (isObscuraError(e) && PERMANENT.has(e.code)) throw e;
        const reason = e instanceof Error ? e.message : String(e);
        health.down(reason);
        log('warn', `anchoring ${what} failed (attempt ${tries}), retrying in ${delay} ms: ${reason}`);
        opts.onWait?.(`waiting for the chain to anchor ${what} (attempt ${tries} failed: retrying)`);
      }
      await sleep(delay, signal);
      delay = Math.min(BACKOFF.maxMs, delay * 2);
    }
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
