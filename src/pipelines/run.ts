/**
 * The runner: check the pipeline, load the columns it reads into a clean, locked-down
 * in-memory DuckDB, compute each output (and each step more than one step reads) as one
 * parameterised `CREATE TEMP TABLE … AS WITH …` statement — other steps are inlined as CTEs, so
 * intermediate row-level results are never materialised — and read each output with
 * min_group_size suppression applied inside DuckDB: a group is released only when, for
 * every input behind it, at least min_group_size distinct rows of that input are behind
 * it (counted from hidden row ids, see steps/provenance.ts); suppressed groups are
 * counted, never returned. Rows are sorted by the group-by columns, so the same pipeline
 * over the same data gives the same result. DuckDB's own error messages may
 * quote data, so they are never passed on: failures name the step and DuckDB's error
 * class only. Progress counts the plan's units of work (inputs to load, steps to
 * materialise, outputs to read or train) done, never rows, so it reads the same for any
 * data of the same schemas. Under a JobGuard (limits.ts) the run stops at its deadline or
 * on cancellation (DuckDB is interrupted), a materialised step or a read of rows over the
 * row limit fails, and DuckDB running out of its memory limit fails as the memory limit.
 */
import {
  type DatasetSchema,
  isWarmInput,
  type ParsedDataset,
  quoteIdent,
  finishScans,
  scanIntoDuckDB,
  type WarmInput,
  warmBytesAtLeast,
  warmIntoDuckDB,
  withDuckDB,
} from '../data/index.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DataColumn } from '../ml/encode.ts';
import type { TrainedModel } from '../ml/train.ts';
import { checkPipeline, type PipelinePlan } from './check.ts';
import type { JobGuard } from './limits.ts';
import { composed, materialisedSteps } from './compose.ts';
import { planDp } from './dp.ts';
import { asColumns, evaluateOutput, type ReadRows, trainedModel, trainOutput } from './ml-run.ts';
import {
  type PipelineOutput,
  type PipelineOutputs,
  readDpOutput,
  readOutput,
  readRawOutput,
} from './read-outputs.ts';
import { toOutputValue } from './results.ts';
import { execute, guarded, type Run } from './run-sql.ts';
import type { PipelineDocument } from './schema.ts';
import { runSplit, type SplitHalf } from './split.ts';
import { jobThreads, orderFree, splitJob } from './threads.ts';
import { trainDirectly } from './train-direct.ts';

export type { PipelineOutput, PipelineOutputs } from './read-outputs.ts';

/** Options of runPipeline. */
export interface RunOptions {
  /** Progress in [0, 1]: units of the plan done, with a message naming steps and inputs, never data. */
  onProgress?: (fraction: number, message: string) => void;
  /**
   * DuckDB threads. Default: jobThreads (threads.ts), two when the result cannot depend on
   * the order of the rows and every input is read from the warm cache's tables (fromTables),
   * else one, which makes float sums reproducible bit for bit.
   */
  threads?: number;
  /** DuckDB memory limit such as '2GB'; a query needing more fails (nothing spills to disk). */
  memoryLimit?: string;
  /**
   * Bytes the warm cache may hold in all (data/duckdb-warm.ts): a WarmInput the cache
   * misses is copied into it when it fits. 0 or absent: warm inputs are only scanned.
   */
  warmCacheBytes?: number;
  /** The job's deadline, row limit and cancellation (the enclave always passes one). */
  guard?: JobGuard;
  /**
   * false: ignore `dp` and release exact aggregates. Only for benchmarks and differential
   * tests that compare with DuckDB; the enclave never passes it.
   */
  privacy?: boolean;
  /**
   * Internal, for mergeable partial aggregates (partials/compute.ts): aggregate outputs are
   * read exact and whole — no suppression, no DP — with the counts behind each group
   * (PipelineOutput.behind), so that min_group_size and DP can be applied after a merge.
   */
  raw?: boolean;
  /**
   * Replaces local training for train outputs (federated training: the worker keeps the
   * rows and the federation trains); gets the step's rows as columns, features then label.
   */
  trainer?: (step: string, columns: DataColumn[], minGroupSize: number) => Promise<PipelineOutput>;
  /**
   * false: never run the job as two merged halves (split.ts; threads.ts splitJob decides
   * otherwise). For benchmarks and tests comparing with a whole run.
   */
  split?: boolean;
  /** Internal (split.ts): run one half of a split job, on its connection, over its rows. */
  half?: SplitHalf;
}

/**
 * Run a pipeline over parsed datasets (or warm-cache inputs, data/duckdb-warm-load.ts)
 * bound to its inputs by name. Throws what
 * checkPipeline throws, and 'pipeline_execution_failed' (422) naming the step when DuckDB
 * fails at run time (expressions give NULL rather than raising, so this is a resource
 * error such as DuckDB running out of memory); no message carries a data value. Inside
 * the enclave any failure after data is read leaves as job_data_condition.
 */
export async function runPipeline(
  doc: PipelineDocument,
  given: Record<string, ParsedDataset | WarmInput>,
  opts: RunOptions = {},
): Promise<PipelineOutputs> {
  const inputs = given;
  const schemas: Record<string, DatasetSchema> = {};
  for (const [name, d] of Object.entries(inputs)) schemas[name] = d.schema;
  // DP outputs run as a rewritten document (exact sums, counts and histograms behind them).
  const dp = opts.privacy === false ? { doc, outputs: [] } : planDp(doc);
  const released = dp.outputs.length ? checkPipeline(doc, schemas) : undefined;
  const plan = checkPipeline(dp.doc, schemas);
  const progress = opts.onProgress ?? (() => {});
  progress(0, 'pipeline checked');
  const guard = opts.guard;
  const checkpoint = guard ? () => guard.checkpoint() : undefined;
  const direct = await trainDirectly(dp.doc, plan, inputs, opts, progress);
  if (direct) {
    progress(1, 'done');
    return direct;
  }
  const only = Object.values(inputs);
  const split =
    opts.split === false || opts.raw || opts.trainer || opts.half || only.length !== 1
      ? undefined
      : splitJob(doc, schemas, (only[0] as ParsedDataset | WarmInput).rows, opts.privacy !== false);
  if (split) return runSplit(doc, inputs, split, opts, runPipeline);
  const half = opts.half;
  const onConnection = async (connection: DuckDBConnection): Promise<PipelineOutputs> => {
    const interrupt = () => connection.interrupt();
    guard?.signal.addEventListener('abort', interrupt);
    half?.stop.addEventListener('abort', interrupt);
    try {
      // Scans of stores read a chunk at a time are read to their end (whatever a query
      // left unread): a damaged chunk fails the run the same wherever its queries stopped.
      const outputs = await runInDuckDB({ connection, guard, stop: half?.stop });
      const failure = finishScans(connection);
      if (failure) throw failure;
      return outputs;
    } catch (e) {
      // Not for a job stopped by its deadline or its analyst: it fails as that, at once.
      throw (guard?.signal.aborted ? undefined : finishScans(connection)) ?? e;
    } finally {
      guard?.signal.removeEventListener('abort', interrupt);
      half?.stop.removeEventListener('abort', interrupt);
    }
  };
  if (half) return onConnection(half.connection);
  return withDuckDB(onConnection, {
    threads: opts.threads ?? (fromTables(plan, inputs, opts.warmCacheBytes ?? 0) ? jobThreads(plan) : 1),
    // A job that must run on one thread keeps the warm cache there (data/duckdb.ts).
    serial: opts.threads === undefined && !orderFree(plan),
    memoryLimit: opts.memoryLimit,
    prefer: plan.inputs.flatMap((i) => {
      const x = inputs[i.name];
      return x && isWarmInput(x) ? [{ key: x.key, columns: i.columnsRead }] : [];
    }),
  });

  async function runInDuckDB(run: Run): Promise<PipelineOutputs> {
    const { connection } = run;
    const loads = plan.inputs.filter((i) => i.columnsRead.length > 0 || i.rowIdColumn);
    const materialised = materialisedSteps(plan);
    const units = loads.length + materialised.size + plan.outputs.length;
    let done = 0;
    const unit = (message: string) => progress(done++ / units, message);
    for (const input of loads) {
      unit(`loading input ${input.name}`);
      const data = inputs[input.name] as ParsedDataset | WarmInput;
      const load = { rowIdColumn: input.rowIdColumn, ...(half ? { range: half.range } : {}) };
      // A view over the Arrow buffers, not a copy in DuckDB's storage (data/duckdb-scan.ts),
      // or over the warm cache's table (data/duckdb-warm-load.ts).
      await guarded(run, `loading input ${input.name}`, { input: input.name }, () =>
        isWarmInput(data)
          ? warmIntoDuckDB(connection, input.table, data, input.columnsRead, {
              ...load,
              maxBytes: opts.warmCacheBytes ?? 0,
            })
          : scanIntoDuckDB(connection, input.table, data, input.columnsRead, load).then(() => 'scanned'),
      );
    }
    for (const step of plan.steps) {
      if (!materialised.has(step.table)) continue;
      unit(`running step ${step.id}`);
      const { sql, params, inlined } = composed(plan, step, materialised);
      await execute(run, `CREATE TEMP TABLE ${quoteIdent(step.table)} AS ${sql}`, params, step.id, {
        inlined,
      });
      // Counting a table DuckDB just wrote is a metadata read, not a scan.
      const [[count] = []] = await execute(
        run,
        `SELECT count(*) FROM ${quoteIdent(step.table)}`,
        [],
        step.id,
      );
      guard?.checkRows(count as bigint);
      half?.counted(step.id, Number(count));
    }
    const outputs: PipelineOutputs = {};
    const models = new Map<string, Promise<TrainedModel>>();
    const readRows: ReadRows = async (id) => {
      const step = plan.steps.find((s) => s.id === id) as PipelinePlan['steps'][number];
      const cols = step.columns.map((c) => quoteIdent(c.name)).join(', ');
      const { sql, params } = materialised.has(step.table)
        ? { sql: `SELECT ${cols} FROM ${quoteIdent(step.table)}`, params: [] }
        : composed(plan, step, materialised);
      // One row past the limit is enough to know it is exceeded, and keeps the read bounded.
      const bounded = guard ? `SELECT * FROM (${sql}) LIMIT ${guard.limits.maxRows + 1}` : sql;
      // Column-wise: a model wants columns, and 1M small row arrays cost seconds (measured).
      const values = await execute(run, bounded, params, id, { shape: 'columns' });
      guard?.checkRows(values[0]?.length ?? 0);
      return { columns: step.columns, values: values.map((c) => c.map(toOutputValue)) };
    };
    for (const out of plan.outputs) {
      const kind = plan.steps.find((s) => s.id === out.step)?.kind;
      unit(`${kind === 'train' ? 'training' : 'computing'} output ${out.step}`);
      if (kind === 'train' && opts.trainer) {
        outputs[out.step] = await opts.trainer(
          out.step,
          asColumns(await readRows(out.step)),
          out.minGroupSize,
        );
        continue;
      }
      if (kind === 'train') {
        const model = await trainedModel(dp.doc, out.step, out.minGroupSize, readRows, models, checkpoint);
        outputs[out.step] = await trainOutput(
          model,
          doc.outputs[out.step]?.release ?? 'metrics',
          out.minGroupSize,
        );
        continue;
      }
      if (kind === 'evaluate') {
        outputs[out.step] = await evaluateOutput(
          dp.doc,
          out.step,
          out.minGroupSize,
          readRows,
          models,
          checkpoint,
        );
        continue;
      }
      if (opts.raw && kind === 'aggregate') {
        outputs[out.step] = await readRawOutput(run, plan, out);
        continue;
      }
      const dpPlan = dp.outputs.find((o) => o.step === out.step);
      const columns = released?.outputs.find((o) => o.step === out.step)?.columns;
      outputs[out.step] =
        dpPlan && columns
          ? await readDpOutput(run, plan, out, dpPlan, columns)
          : await readOutput(run, plan, out);
    }
    progress(1, 'done');
    return outputs;
  }
}

/**
 * Whether every input the job loads is read from DuckDB's own tables: warm, with room in the
 * cache for at least its fixed-width columns (a cache hit, or a copy made first). Only then
 * do two threads pay: the scan that hands the enclave's columns to DuckDB runs on one thread
 * in row order, and a second thread beside it cost 1.7× the CPU for no gain (10M rows, an
 * order-free job: 1.02 against 0.58 CPU s, median of 8).
 */
function fromTables(
  plan: PipelinePlan,
  inputs: Record<string, ParsedDataset | WarmInput>,
  warmCacheBytes: number,
): boolean {
  return plan.inputs
    .filter((i) => i.columnsRead.length > 0 || i.rowIdColumn)
    .every((i) => {
      const x = inputs[i.name];
      return (
        x !== undefined &&
        isWarmInput(x) &&
        i.columnsRead.length > 0 &&
        warmBytesAtLeast(x.schema, i.columnsRead, x.rows) <= warmCacheBytes
      );
    });
}
