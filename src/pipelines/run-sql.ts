/**
 * Running one SQL statement of a pipeline on its DuckDB connection, under the job's guard:
 * DuckDB's error messages may quote data, so a failure is named by the step and DuckDB's
 * error class only, and an interrupted statement fails as what interrupted it.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ObscuraError } from '../common/errors.ts';
import { isObscuraError } from '../common/errors.ts';
import { pipelineError } from './errors.ts';
import { type JobGuard, limitExceeded } from './limits.ts';
import { bindings, type SqlParam } from './sql.ts';

/** The connection a run uses, and the guard it runs under. */
export interface Run {
  connection: DuckDBConnection;
  guard?: JobGuard | undefined;
  /** Aborted when the run must stop for another reason (the other half of a split job failed, split.ts). */
  stop?: AbortSignal | undefined;
}

/**
 * Run one statement; DuckDB errors become 'pipeline_execution_failed' naming the step and
 * the steps inlined into it (any of which may be the one that failed).
 */
export async function execute(
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
    if (run.stop?.aborted) throw run.stop.reason;
    const { values, types } = bindings(params);
    const reader = await run.connection.runAndReadAll(sql, values, types);
    return shape === 'rows' ? reader.getRows() : reader.getColumns();
  });
}

/** Run `fn` as `what`: a DuckDB failure becomes a data-free pipeline error (see execute). */
export async function guarded<T>(
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
    if (run.stop?.aborted) throw run.stop.reason;
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
