/**
 * Composing the planned steps into statements. Each output, and each step more than one
 * step reads, becomes a table; every other step is inlined as a CTE of the statement that
 * reads it, so row-level intermediate results (a filter's rows) are streamed through
 * DuckDB's pipeline instead of being copied into another table.
 */
import { quoteIdent } from '../data/index.ts';
import type { PipelinePlan, PlannedStep } from './check.ts';
import { type SqlParam, type SqlStatement, shiftParams } from './sql.ts';

/** Tables worth creating: the outputs, and steps read by more than one step. */
export function materialisedSteps(plan: PipelinePlan): Set<string> {
  const readers = new Map<string, number>();
  for (const step of plan.steps) for (const t of step.from) readers.set(t, (readers.get(t) ?? 0) + 1);
  const out = new Set(plan.steps.filter((s) => (readers.get(s.table) ?? 0) > 1).map((s) => s.table));
  for (const o of plan.outputs) out.add((plan.steps.find((s) => s.id === o.step) as PlannedStep).table);
  return out;
}

/**
 * `step`'s SQL with every non-materialised step it depends on inlined as a CTE (in plan
 * order), parameters renumbered; `inlined` lists those steps' ids.
 */
export function composed(
  plan: PipelinePlan,
  step: PlannedStep,
  materialised: ReadonlySet<string>,
): SqlStatement & { inlined: string[] } {
  const byTable = new Map(plan.steps.map((s) => [s.table, s]));
  const inline = new Set<string>();
  const visit = (s: PlannedStep) => {
    for (const t of s.from) {
      const source = byTable.get(t);
      if (source && !materialised.has(t) && !inline.has(t)) {
        inline.add(t);
        visit(source);
      }
    }
  };
  visit(step);
  const params: SqlParam[] = [];
  const ctes: string[] = [];
  const inlined: string[] = [];
  for (const s of plan.steps) {
    if (!inline.has(s.table)) continue;
    inlined.push(s.id);
    ctes.push(`${quoteIdent(s.table)} AS (${shiftParams(s.sql, params.length)})`);
    params.push(...s.params);
  }
  const body = shiftParams(step.sql, params.length);
  params.push(...step.params);
  return { sql: ctes.length ? `WITH ${ctes.join(', ')} ${body}` : body, params, inlined };
}
