/**
 * A job on both cores whose result is still reproducible bit for bit. DuckDB's parallel
 * aggregation adds its threads' partial float sums in whatever order they finish, so a
 * float sum runs on one thread (threads.ts). A job threads.ts splitJob accepts instead runs
 * as two halves of its one input's rows — rows 0 to the cut and the cut to the end, in the
 * dataset's order — on two connections of one one-thread database at once, each query on
 * its own thread: each half sums in row order, their partial aggregates (partials/) are
 * merged half A then half B, and min_group_size and DP apply once, to the merge
 * (finalize.ts), exactly as for a federated or streamed job. So the result is a function
 * of the data and the plan only, never of the threads' timing, and a warm run (views over
 * the cached table's rows by rowid) and a cold one (scans of each half's chunks of the
 * store) give the same bytes: the same rows in the same order on each side of the same cut.
 *
 * The halves share the database and its memory_limit, so the job's memory bound holds. A
 * failing half stops the other (interrupted; its scans still read to their end, so a
 * damaged chunk fails the job the same wherever the queries stopped), and the job fails
 * once both have settled, with a damaged store's error first. The row limit applies to
 * the whole: a step's rows are the halves' rows added, an output's the merged groups.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { isObscuraError } from '../common/errors.ts';
import {
  isWarmInput,
  type ParsedDataset,
  quoteIdent,
  type RowRange,
  type WarmInput,
  warmIntoDuckDB,
  withDuckDBConnections,
} from '../data/index.ts';
import { checkPipeline } from './check.ts';
import { partialsFromRaw } from './partials/compute.ts';
import { guarded } from './run-sql.ts';
import { finalizePartial } from './partials/finalize.ts';
import { mergePartials } from './partials/merge.ts';
import type { PipelineOutputs, RunOptions } from './run.ts';
import type { PipelineDocument } from './schema.ts';
import type { JobSplit } from './threads.ts';

/** What the runner is told when it runs one half of a split job (RunOptions.half). */
export interface SplitHalf {
  /** The half's connection, to the database both halves share. */
  connection: DuckDBConnection;
  /** The rows of the one input it reads. */
  range: RowRange;
  /** Aborted (with the other half's failure) when the other half failed: stop at once. */
  stop: AbortSignal;
  /** A materialised step's rows in this half (the row limit applies to both halves' sum). */
  counted: (step: string, rows: number) => void;
}

/** The runner of one half: runPipeline, passed in so that this module imports only its types. */
export type HalfRunner = (
  doc: PipelineDocument,
  given: Record<string, ParsedDataset | WarmInput>,
  opts: RunOptions,
) => Promise<PipelineOutputs>;

/**
 * Run `doc` over `inputs` (one input) as the two halves of `split`, merged and released as
 * runPipeline releases a whole run. Throws what runPipeline throws.
 */
export async function runSplit(
  doc: PipelineDocument,
  inputs: Record<string, ParsedDataset | WarmInput>,
  split: JobSplit,
  opts: RunOptions,
  runHalf: HalfRunner,
): Promise<PipelineOutputs> {
  const { partials, cut } = split;
  const name = Object.keys(doc.inputs)[0] as string;
  const input = inputs[name] as ParsedDataset | WarmInput;
  const plan = checkPipeline(partials.doc, { [name]: input.schema });
  const columns = plan.inputs.find((i) => i.name === name)?.columnsRead ?? [];
  const guard = opts.guard;
  const progress = opts.onProgress ?? (() => {});
  return withDuckDBConnections(
    2,
    async (connections) => {
      const [a, b] = connections as [DuckDBConnection, DuckDBConnection];
      let warmCacheBytes = opts.warmCacheBytes ?? 0;
      if (isWarmInput(input) && columns.length > 0 && warmCacheBytes > 0) {
        // The cache is filled (or found) once, before the halves: each then views its rows.
        const interrupt = () => a.interrupt();
        guard?.signal.addEventListener('abort', interrupt);
        try {
          guard?.check();
          const view = `${plan.inputs[0]?.table ?? 'input'}__warm`;
          const how = await guarded({ connection: a, guard }, `loading input ${name}`, { input: name }, () =>
            warmIntoDuckDB(a, view, input, columns, { maxBytes: warmCacheBytes }),
          );
          await a.run(`DROP VIEW IF EXISTS ${quoteIdent(view)}`);
          // No room: both halves scan their rows (none fills a copy of its own).
          if (how === 'scanned') warmCacheBytes = 0;
        } finally {
          guard?.signal.removeEventListener('abort', interrupt);
        }
      }
      const counts = [new Map<string, number>(), new Map<string, number>()];
      const stops = [new AbortController(), new AbortController()];
      const ranges: RowRange[] = [
        { from: 0, to: cut },
        { from: cut, to: input.rows },
      ];
      let failed: { error: unknown } | undefined;
      const runs = [a, b].map((connection, i) =>
        runHalf(partials.doc, inputs, {
          ...(guard ? { guard } : {}),
          ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}),
          warmCacheBytes,
          privacy: false,
          raw: true,
          // Progress from the plan: the first half's units, which the second's mirror.
          ...(i === 0 ? { onProgress: (f: number, m: string) => progress(0.95 * f, m) } : {}),
          half: {
            connection,
            range: ranges[i] as RowRange,
            stop: (stops[i] as AbortController).signal,
            counted: (step, rows) => {
              const c = counts[i] as Map<string, number>;
              c.set(step, (c.get(step) ?? 0) + rows);
            },
          },
        }).catch((e: unknown) => {
          // The first failure stops the other half at its next statement (interrupted if in one).
          if (!failed) {
            failed = { error: e };
            (stops[1 - i] as AbortController).abort(e);
            connections[1 - i]?.interrupt();
          }
          throw e;
        }),
      );
      const settled = await Promise.allSettled(runs);
      if (failed) {
        // A damaged store first (found by either half's scans), else the failure that stopped the job.
        const reasons = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
        throw reasons.find((e) => isObscuraError(e, 'store_corrupt')) ?? failed.error;
      }
      const [rawA, rawB] = settled.map((s) => (s as PromiseFulfilledResult<PipelineOutputs>).value) as [
        PipelineOutputs,
        PipelineOutputs,
      ];
      const halfA = partialsFromRaw(partials, rawA);
      const halfB = partialsFromRaw(partials, rawB);
      const outputSteps = new Set(partials.outputs.map((o) => o.spec.step));
      for (const [step, rows] of counts[0] as Map<string, number>)
        if (!outputSteps.has(step))
          guard?.checkRows(rows + ((counts[1] as Map<string, number>).get(step) ?? 0));
      const outputs: PipelineOutputs = {};
      for (const { spec } of partials.outputs) {
        const merged = mergePartials([halfA[spec.step], halfB[spec.step]].filter((p) => p !== undefined));
        guard?.checkRows(merged.groups.length);
        outputs[spec.step] = finalizePartial(merged);
      }
      progress(1, 'done');
      return outputs;
    },
    {
      threads: 1,
      // The warm cache stays in this one-thread database (data/duckdb.ts WarmPreference).
      serial: true,
      ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}),
      prefer: isWarmInput(input) ? [{ key: input.key, columns }] : [],
    },
  );
}
