/**
 * How many DuckDB threads a job runs on. A published result must be reproducible bit for
 * bit, and DuckDB's parallel aggregation adds each thread's partial float sums in whatever
 * order the threads finish (measured: 4 distinct results of a float mean in 10 runs on two
 * threads, 1 in 12 on one; BENCHMARKS.md). So a job runs on two threads only when every step
 * it computes may (steps/types.ts AnalysedStep.parallel, stated by each step's and each
 * measure's compiler, the one source of truth): filters and derives, and aggregates of
 * counts, min, max, quantiles, histograms, and sums and means of integers or booleans
 * (exact in DuckDB's 128-bit sums). A float sum or mean, a variance or a standard
 * deviation, or training keeps the whole job on one thread; so do distinct counts —
 * count_distinct, and the distinct row counts min_group_size needs behind a join — which
 * are reproducible but cost more CPU and memory on two threads (measured). The rule reads
 * the plan only, never the data, so the same job always runs on the same number of threads.
 */
import { availableParallelism } from 'node:os';
import type { PipelinePlan } from './check.ts';

/**
 * Threads of an order-free job. Two: the cores of the machines this runs on, and each
 * thread adds working memory inside the same memory_limit (DuckDB's limit is per database,
 * so a second thread never raises the job's bound, only its use within it).
 */
export const PARALLEL_THREADS = 2;

/**
 * DuckDB threads for a checked plan: PARALLEL_THREADS (at most `cores`) when every step it
 * computes may run on several (PlannedStep.parallel), else 1.
 */
export function jobThreads(plan: Pick<PipelinePlan, 'steps'>, cores = availableParallelism()): number {
  return orderFree(plan) ? Math.max(1, Math.min(PARALLEL_THREADS, cores)) : 1;
}

/** Whether every step of a checked plan may run on several threads (PlannedStep.parallel): its result cannot depend on the order of the rows. */
export function orderFree(plan: Pick<PipelinePlan, 'steps'>): boolean {
  return plan.steps.every((s) => s.parallel);
}
