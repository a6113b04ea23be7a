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
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ObscuraError } from '../common/errors.ts';
import { isObscuraError } from '../common/errors.ts';
import { type JobGuard, limitExceeded } from './limits.ts';
import {
  type DatasetSchema,
  allParsed,
  isWarmInput,
  type ParsedDataset,
  quoteIdent,
  scanIntoDuckDB,
  type WarmInput,
  warmIntoDuckDB,
  withDuckDB,
} from '../data/index.ts';
import { checkPipeline, type PipelinePlan, type PlanColumn } from './check.ts';
import { suppressGroupCells } from './cell-suppression.ts';
import { type DpApplied, type DpOutputPlan, type ExactGroup, planDp, releaseDp } from './dp.ts';
import { composed, materialisedSteps } from './compose.ts';
import { pipelineError } from './errors.ts';
import {
  asColumns,
  evaluateOutput,
  type ModelDescription,
  type ReadRows,
  trainedModel,
  trainOutput,
} from './ml-run.ts';
import { modelColumn } from '../ml/columns.ts';
import type { DataColumn } from '../ml/encode.ts';
import type { TrainedModel } from '../ml/train.ts';
import { type OutputValue, toOutputValue } from './results.ts';
import type { PipelineDocument } from './schema.ts';
import { bindings, type SqlParam } from './sql.ts';

/** One released output: an aggregate table and how many groups were held back. */
export interface PipelineOutput {
  columns: { name: string; type: string }[];
  rows: OutputValue[][];
  /** Groups with fewer than minGroupSize input rows, dropped from `rows`. */
  suppressedGroups: number;
  /** Histogram cells of released groups with fewer than minGroupSize input rows, shown as null (present when the output has histograms). */
  suppressedCells?: number;
  minGroupSize: number;
  /** Present when the output was released with differential privacy. */
  dp?: DpApplied;
  /** Present for a train output: the model's description, and its weights where released. */
  model?: ModelDescription;
  /**
   * Only with RunOptions.raw (never released): per group in `rows` order, each input's
   * distinct rows behind it, and per histogram measure each input's rows behind each cell.
   */
  behind?: { rows: number[][]; cells: Record<string, number[][][]> };
}

/** Outputs by step id. */
export type PipelineOutputs = Record<string, PipelineOutput>;

/** Options of runPipeline. */
export interface RunOptions {
  /** Progress in [0, 1]: units of the plan done, with a message naming steps and inputs, never data. */
  onProgress?: (fraction: number, message: string) => void;
  /** DuckDB threads (default 1, which makes float sums reproducible bit for bit). */
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
  return withDuckDB(
    async (connection) => {
      const interrupt = () => connection.interrupt();
      guard?.signal.addEventListener('abort', interrupt);
      try {
        return await runInDuckDB({ connection, guard });
      } finally {
        guard?.signal.removeEventListener('abort', interrupt);
      }
    },
    {
      threads: opts.threads,
      memoryLimit: opts.memoryLimit,
      prefer: plan.inputs.flatMap((i) => {
        const x = inputs[i.name];
        return x && isWarmInput(x) ? [{ key: x.key, columns: i.columnsRead }] : [];
      }),
    },
  );

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
      const load = { rowIdColumn: input.rowIdColumn };
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

/** The connection a run uses, and the guard it runs under. */
interface Run {
  connection: DuckDBConnection;
  guard?: JobGuard | undefined;
}

async function readOutput(
  run: Run,
  plan: PipelinePlan,
  out: PipelinePlan['outputs'][number],
): Promise<PipelineOutput> {
  const step = plan.steps.find((s) => s.id === out.step) as PipelinePlan['steps'][number];
  const table = quoteIdent(step.table);
  const k: SqlParam[] = [{ value: out.minGroupSize, type: 'BIGINT' }];
  // Released only when every input has at least min_group_size distinct rows behind the group.
  const kept = step.rowCounts.length
    ? step.rowCounts.map((c) => `${quoteIdent(c)} >= $1`).join(' AND ')
    : '$1 <= 1';
  const hidden = await execute(run, `SELECT count(*) FROM ${table} WHERE NOT (${kept})`, k, out.step);
  const cellColumns = step.cells.flatMap((c) => c.columns);
  const cols = [...out.columns.map((c) => c.name), ...cellColumns].map(quoteIdent).join(', ');
  const order = step.groupBy.length
    ? ` ORDER BY ${step.groupBy.map((g) => `${quoteIdent(g)} ASC NULLS FIRST`).join(', ')}`
    : '';
  const read = await execute(run, `SELECT ${cols} FROM ${table} WHERE ${kept}${order}`, k, out.step);
  const rows = read.map((r) => r.slice(0, out.columns.length).map(toOutputValue));
  const suppressedCells = suppressCells(out, step.cells, read, rows);
  return {
    columns: out.columns.map((c) => ({ name: c.name, type: c.type })),
    rows,
    suppressedGroups: Number(hidden[0]?.[0] ?? 0),
    ...(step.cells.length ? { suppressedCells } : {}),
    minGroupSize: out.minGroupSize,
  };
}

/** Every group of an aggregate output, exact, with the counts behind it (RunOptions.raw). */
async function readRawOutput(
  run: Run,
  plan: PipelinePlan,
  out: PipelinePlan['outputs'][number],
): Promise<PipelineOutput> {
  const step = plan.steps.find((s) => s.id === out.step) as PipelinePlan['steps'][number];
  const lists = step.cells.flatMap((c) => c.columns);
  const cols = [...out.columns.map((c) => c.name), ...step.rowCounts, ...lists].map(quoteIdent).join(', ');
  const read = await execute(run, `SELECT ${cols} FROM ${quoteIdent(step.table)}`, [], out.step);
  const n = out.columns.length;
  const list = (v: DuckDBValue) => (v as { items: unknown[] }).items.map(Number);
  const cells: Record<string, number[][][]> = {};
  let at = n + step.rowCounts.length;
  for (const c of step.cells) {
    const from = at;
    cells[c.measure] = read.map((r) => c.columns.map((_, i) => list(r[from + i] ?? null)));
    at += c.columns.length;
  }
  return {
    columns: out.columns.map((c) => ({ name: c.name, type: c.type })),
    rows: read.map((r) => r.slice(0, n).map(toOutputValue)),
    suppressedGroups: 0,
    minGroupSize: out.minGroupSize,
    behind: { rows: read.map((r) => r.slice(n, n + step.rowCounts.length).map(Number)), cells },
  };
}

/** Histogram cells of released groups below min_group_size become null (cell-suppression.ts); returns how many. */
function suppressCells(
  out: PipelinePlan['outputs'][number],
  cells: PipelinePlan['steps'][number]['cells'],
  read: DuckDBValue[][],
  rows: OutputValue[][],
): number {
  if (out.minGroupSize <= 1) return 0;
  let suppressed = 0;
  let at = out.columns.length;
  for (const { measure, columns } of cells) {
    const index = out.columns.findIndex((c) => c.name === measure);
    const lists = columns.map((_, i) => at + i);
    at += columns.length;
    read.forEach((r, g) => {
      const row = rows[g] as OutputValue[];
      const counts = JSON.parse(String(row[index])) as (number | null)[];
      const behind = lists.map((i) => (r[i] as { items: unknown[] }).items.map(Number));
      const kept = suppressGroupCells(counts, behind, out.minGroupSize);
      suppressed += kept.suppressed;
      row[index] = JSON.stringify(kept.cells);
    });
  }
  return suppressed;
}

/**
 * When every output is a train step that reads an input as it is, the rows go straight
 * from the input's Arrow columns to the model, without a DuckDB round trip: for 1M × 21
 * values that round trip costs about 4 s (measured), a sixth of a 20-epoch logistic
 * regression. Same rows, same order, same model as through DuckDB.
 */
async function trainDirectly(
  doc: PipelineDocument,
  plan: PipelinePlan,
  given: Record<string, ParsedDataset | WarmInput>,
  opts: RunOptions,
  progress: NonNullable<RunOptions['onProgress']>,
): Promise<PipelineOutputs | undefined> {
  const direct = plan.outputs.every((o) => {
    const from = doc.steps.find((s) => s.id === o.step)?.train?.from;
    return from !== undefined && Object.hasOwn(doc.inputs, from);
  });
  if (!direct || plan.outputs.length === 0) return undefined;
  const inputs = await allParsed(given);
  const models = new Map<string, Promise<TrainedModel>>();
  const readRows: ReadRows = async (id) => {
    const step = plan.steps.find((s) => s.id === id) as PipelinePlan['steps'][number];
    const data = inputs[doc.steps.find((s) => s.id === id)?.train?.from as string] as ParsedDataset;
    opts.guard?.checkRows(data.rows);
    const values = step.columns.map((c) =>
      modelColumn(data.table.getChild(c.name), c.type, data.rows, (v) => toOutputValue(v as DuckDBValue)),
    );
    return { columns: step.columns, values };
  };
  const outputs: PipelineOutputs = {};
  for (const [i, out] of plan.outputs.entries()) {
    progress(i / plan.outputs.length, `training output ${out.step}`);
    if (opts.trainer) {
      outputs[out.step] = await opts.trainer(out.step, asColumns(await readRows(out.step)), out.minGroupSize);
      continue;
    }
    const guard = opts.guard;
    const checkpoint = guard ? () => guard.checkpoint() : undefined;
    const model = await trainedModel(doc, out.step, out.minGroupSize, readRows, models, checkpoint);
    outputs[out.step] = await trainOutput(
      model,
      doc.outputs[out.step]?.release ?? 'metrics',
      out.minGroupSize,
    );
  }
  return outputs;
}

/**
 * A DP output: every group's exact aggregates and row count, read without suppression,
 * then released by releaseDp (noisy selection against min_group_size, noisy measures).
 */
async function readDpOutput(
  run: Run,
  plan: PipelinePlan,
  out: PipelinePlan['outputs'][number],
  dpPlan: DpOutputPlan,
  columns: readonly PlanColumn[],
): Promise<PipelineOutput> {
  const step = plan.steps.find((s) => s.id === out.step) as PipelinePlan['steps'][number];
  const names = out.columns.map((c) => c.name);
  const rowCount = step.rowCounts[0];
  const select = [...names.map(quoteIdent), rowCount ? quoteIdent(rowCount) : 'count(*) OVER ()'].join(', ');
  const order = step.groupBy.length
    ? ` ORDER BY ${step.groupBy.map((g) => `${quoteIdent(g)} ASC NULLS FIRST`).join(', ')}`
    : '';
  const rows = await execute(run, `SELECT ${select} FROM ${quoteIdent(step.table)}${order}`, [], out.step);
  const groups: ExactGroup[] = rows.map((r) => ({
    values: Object.fromEntries(names.map((n, i) => [n, toOutputValue(r[i] ?? null)])),
    rows: Number(r[names.length] ?? 0),
  }));
  const { rows: releasedRows, dp } = releaseDp(dpPlan, groups, columns, out.minGroupSize);
  return {
    columns: columns.map((c) => ({ name: c.name, type: c.type })),
    rows: releasedRows,
    // Under DP, groups below the noisy threshold are dropped uncounted: their number would leak.
    suppressedGroups: 0,
    minGroupSize: out.minGroupSize,
    dp,
  };
}

/**
 * Run one statement; DuckDB errors become 'pipeline_execution_failed' naming the step and
 * the steps inlined into it (any of which may be the one that failed).
 */
async function execute(
  run: Run,
  sql: string,
  params: readonly SqlParam[],
  step: string,
  opts: { inlined?: string[]; shape?: 'rows' | 'columns' } = {},
) {
  const { inlined = [], shape = 'rows' } = opts;
  const what = inlined.length ? `step ${step} (computed with ${inlined.join(', ')})` : `step ${step}`;
  return guarded(run, what, inlined.length ? { step, steps: [...inlined, step] } : { step }, async () => {
    run.guard?.check();
    const { values, types } = bindings(params);
    const reader = await run.connection.runAndReadAll(sql, values, types);
    return shape === 'rows' ? reader.getRows() : reader.getColumns();
  });
}

async function guarded<T>(
  run: Run,
  what: string,
  details: Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isObscuraError(e)) throw e as ObscuraError;
    // An interrupted statement fails as what interrupted it (the deadline, a cancel).
    if (run.guard?.signal.aborted) throw run.guard.signal.reason as ObscuraError;
    // Keep DuckDB's error class ("Out of Range Error"), never its message: it may quote data.
    const kind = /^([A-Z][A-Za-z ]{2,40} Error):/.exec(e instanceof Error ? e.message : '')?.[1] ?? 'Error';
    if (kind === 'Out of Memory Error') throw limitExceeded('memory');
    const internal = /^(Binder|Parser|Catalog|Internal|Not implemented) Error$/.test(kind);
    throw pipelineError(
      'pipeline_execution_failed',
      `${what} failed in DuckDB (${kind})`,
      { ...details, kind },
      internal ? 500 : 422,
    );
  }
}
