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
 *
 * A job that needs one thread for that may still use two cores: split in two halves of its
 * input's rows, each aggregated on its own thread in row order and the halves' partial
 * aggregates merged in a fixed order (splitJob, pipelines/split.ts). Whether and where a
 * job is cut depends on its plan and its input's row count (the manifest's) only.
 */
import { availableParallelism } from 'node:os';
import { isObscuraError } from '../common/errors.ts';
import type { DatasetSchema } from '../data/index.ts';
import type { PipelinePlan } from './check.ts';
import { type PartialPlan, planPartials } from './partials/plan.ts';
import type { PipelineDocument } from './schema.ts';

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

/**
 * Rows a split job's cut is a multiple of: the store's chunk (enclave/store/format.ts
 * STORE_CHUNK_ROWS, a test holds them equal), so a cold half reads whole chunks of its own.
 */
export const SPLIT_ALIGN = 1 << 17;

/** Jobs over fewer rows run whole: two chunks, so that each half has one. */
export const SPLIT_MIN_ROWS = 2 * SPLIT_ALIGN;

/** A split job: its partial plan (partials/plan.ts) and the row its second half starts at. */
export interface JobSplit {
  partials: PartialPlan;
  cut: number;
}

/**
 * Whether a job runs as two halves of its input's rows (pipelines/split.ts), and where they
 * are cut; undefined when it runs whole. Split: a job over one input of at least
 * SPLIT_MIN_ROWS rows, with no join (a self-join's rows meet across the halves), whose
 * every output merges exactly as partial aggregates (planPartials, with `privacy` as the
 * run applies DP): counts, sums, means, variances, standard deviations, min, max and
 * histograms — not a quantile, whose partial is an approximate histogram, nor a distinct
 * count or training, which planPartials refuses. The cut is the multiple of SPLIT_ALIGN
 * nearest the middle. Reads the document, the schemas and the row count only.
 */
export function splitJob(
  doc: PipelineDocument,
  schemas: Record<string, DatasetSchema>,
  rows: number,
  privacy: boolean,
): JobSplit | undefined {
  if (Object.keys(doc.inputs).length !== 1 || rows < SPLIT_MIN_ROWS) return undefined;
  if (doc.steps.some((s) => s.join)) return undefined;
  let partials: PartialPlan;
  try {
    partials = planPartials(doc, schemas, { privacy });
  } catch (e) {
    if (isObscuraError(e, 'pipeline_partial_unsupported')) return undefined;
    throw e;
  }
  if (partials.outputs.some((o) => o.spec.measures.some((m) => m.kind === 'quantile'))) return undefined;
  const cut = Math.max(1, Math.round(rows / 2 / SPLIT_ALIGN)) * SPLIT_ALIGN;
  return { partials, cut };
}
