/**
 * Bounded waits and a serial queue for chain work: every wait on the chain ends, either
 * with its value or with 'chain_timeout'; submissions from one signer run one at a time so
 * their nonces never race.
 */
import { ObscuraError } from '../common/errors.ts';

/** Resolves like `promise`, or rejects with 'chain_timeout' (503) naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ObscuraError('chain_timeout', `${what} took longer than ${ms} ms`, 503)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs queued async jobs strictly one after another, in submission order. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues `job`; resolves or rejects with its outcome. A failed job does not stop the queue. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(job, job);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
