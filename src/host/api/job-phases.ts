/**
 * Where a job's time goes, as the host sees it: each phase's seconds observed on the
 * `obscura_job_phase_seconds` histogram (GET /metrics), so that an operator can tell a slow
 * queue from a slow enclave or a slow chain, and the latency bench can split a job's
 * submit-to-anchored time without reading anything of its data. Phases, in order:
 *
 * - queue: from the job's submission (its record's creation; an approval wait included) to
 *   the runner taking it;
 * - check: a job that spends budget, from being taken to its spend committed by the enclave;
 * - spend: that spend's head anchored on the chain;
 * - run: to the enclave's `signing result` progress (checks, opening the inputs, the pipeline);
 * - sign: to the released result in the host's hands (sealing the outputs to their readers,
 *   signing, the result's attestation, the answer over the channel, kept on disk);
 * - anchor: the result's hash in a block (a batch of results may share it);
 * - store: the anchored result stored and its job marked succeeded.
 *
 * Timings only: phases come from the runner's own steps and the plan's progress, never from data.
 */
import type { Histogram } from 'prom-client';

/** A job's phase names (the histogram's `phase` label). */
export type JobPhase = 'queue' | 'check' | 'spend' | 'run' | 'sign' | 'anchor' | 'store';

/** The enclave's progress fraction for `signing result` (enclave/jobs.ts): the run ends there. */
export const SIGNING_PROGRESS = 0.95;

/** A stopwatch over one job's phases: each lap observes the time since the previous one. */
export class JobPhaseClock {
  #last: number;
  #signing = false;

  /** Start at the runner taking the job, observing its time in the queue since `createdAt`. */
  constructor(
    private readonly histogram: Histogram<'phase'>,
    createdAt: string,
  ) {
    this.#last = Date.now();
    const queued = (this.#last - Date.parse(createdAt)) / 1000;
    if (Number.isFinite(queued) && queued >= 0) histogram.observe({ phase: 'queue' }, queued);
  }

  /** Observe the time since the last lap as `phase`. */
  lap(phase: JobPhase): void {
    const now = Date.now();
    this.histogram.observe({ phase }, (now - this.#last) / 1000);
    this.#last = now;
  }

  /** The enclave's progress: the run ends when it starts signing the result. */
  progress(fraction: number): void {
    if (this.#signing || fraction < SIGNING_PROGRESS) return;
    this.#signing = true;
    this.lap('run');
  }

  /** The released result is in the host's hands (a job that never said it was signing, as a federated one, ran until now). */
  released(): void {
    this.lap(this.#signing ? 'sign' : 'run');
  }
}
