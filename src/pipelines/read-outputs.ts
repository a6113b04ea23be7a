/**
 * Reading a pipeline's aggregate outputs out of DuckDB: with min_group_size suppression
 * applied inside DuckDB (a group is released only when every input has at least
 * min_group_size distinct rows behind it; suppressed groups are counted, never returned),
 * raw for mergeable partials, or exact and then released with DP noise (dp.ts).
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { quoteIdent } from '../data/index.ts';
import { suppressGroupCells } from './cell-suppression.ts';
import type { PipelinePlan, PlanColumn } from './check.ts';
import { type DpApplied, type DpOutputPlan, type ExactGroup, releaseDp } from './dp.ts';
import type { ModelDescription } from './ml-run.ts';
import { type OutputValue, toOutputValue } from './results.ts';
import { execute, type Run } from './run-sql.ts';
import type { SqlParam } from './sql.ts';

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

/** An aggregate output with min_group_size suppression applied (groups and histogram cells). */
export async function readOutput(
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
export async function readRawOutput(
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
 * A DP output: every group's exact aggregates and row count, read without suppression,
 * then released by releaseDp (noisy selection against min_group_size, noisy measures).
 */
export async function readDpOutput(
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
