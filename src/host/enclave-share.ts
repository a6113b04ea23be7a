/**
 * The host's share-out of one enclave process between request classes. The enclave answers
 * its requests concurrently on one thread, so a job's steps take turns with whatever else it
 * is doing; upload checks (decrypt, parse and compare a whole dataset each) come from every
 * owner at once and, unbounded, took most of those turns: a count job that takes 50 ms alone
 * took 0.5-1.3 s beside sixteen checks, 0.2-0.3 s beside four (which check as many uploads a
 * second as sixteen do: more at once only share the same thread). So the host lets a few
 * checks into the enclave at a time and queues the rest, first come first served: a job then
 * keeps its share of the enclave however many uploads arrive, and every check still runs in
 * full.
 */

/** Upload checks one enclave process runs at once, unless the operator says otherwise. */
export const DEFAULT_CHECKS_IN_FLIGHT = 4;

/** A first-come, first-served gate that lets at most `limit` tasks run at once. */
export class FairGate {
  #running = 0;
  readonly #queue: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  /** Tasks waiting for a turn now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Run `task` once fewer than `limit` others run, in arrival order; settles as `task` does. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#queue.push(resolve));
    else this.#running++;
    try {
      return await task();
    } finally {
      const next = this.#queue.shift();
      // The turn passes straight to the next in line, so the count stays at the limit.
      if (next) next();
      else this.#running--;
    }
  }
}
