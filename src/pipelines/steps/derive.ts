/**
 * The `derive` step: every column of `from`, then one new column per entry of `columns`
 * (in document order), each computed by an expression over the columns of `from` — not
 * over columns derived in the same step (chain a second derive for that). A new name may
 * not repeat an existing column (ignoring case, as DuckDB does) nor be a hidden name. An
 * expression whose type cannot be known (a bare NULL) is refused. The result is
 * row-level: it feeds other steps, never an output.
 */
import { type ColumnType, quoteIdent } from '../../data/index.ts';
import { formatPath, pipelineError } from '../errors.ts';
import { type CompiledExpr, compileExpression, ExpressionError } from '../expr/index.ts';
import { Params, type SqlParam, shiftParams } from '../sql.ts';
import { expressionFailure } from './filter.ts';
import {
  type AnalysedStep,
  isReservedName,
  passedThrough,
  type PlanColumn,
  type StepCompiler,
  type StepContext,
} from './types.ts';

/** Compiler of derive steps. */
export const deriveStep: StepCompiler = {
  analyse(ctx: StepContext): AnalysedStep {
    const body = ctx.step.derive;
    if (!body) throw new Error('not a derive step');
    const source = ctx.relation(body.from, 'from');
    const types = new Map(source.columns.map((c) => [c.name, c.type]));
    const taken = new Set(source.columns.map((c) => c.name.toLowerCase()));
    const derived: (PlanColumn & { expr: CompiledExpr & { columns: string[] }; params: Params })[] = [];
    for (const [name, src] of Object.entries(body.columns)) {
      const field = `columns.${name}`;
      const path = `${ctx.path}.${formatPath(['columns', name])}`;
      if (taken.has(name.toLowerCase()) || isReservedName(name)) {
        const why = isReservedName(name)
          ? 'uses a reserved name'
          : 'repeats an existing column (names are case-insensitive)';
        throw pipelineError('pipeline_invalid', `step ${ctx.id}: derived column ${name} ${why}`, {
          step: ctx.id,
          field,
          column: name,
          path,
        });
      }
      taken.add(name.toLowerCase());
      let expr: CompiledExpr & { columns: string[] };
      const params = new Params();
      try {
        expr = compileExpression(src, types, params);
        if (expr.type === 'null') throw new ExpressionError('a column that is always NULL has no type', 0);
      } catch (e) {
        expressionFailure(e, ctx, field, path);
      }
      derived.push({ name, type: expr.type as ColumnType, expr, params });
    }
    const byName = new Map(derived.map((d) => [d.name, d]));
    const lineageColumns = passedThrough(source);
    for (const d of derived)
      lineageColumns.set(
        d.name,
        [...new Set(d.expr.columns)].map((column) => ({ source: source.name, column })),
      );
    return {
      sources: [source.name],
      columns: [...source.columns, ...derived.map(({ name, type }) => ({ name, type }))],
      aggregate: false,
      // One row at a time.
      parallel: true,
      groupBy: [],
      tracks: source.tracks,
      lineage: {
        columns: lineageColumns,
        uses: derived.flatMap((d) =>
          [...new Set(d.expr.columns)].map((column) => ({
            use: 'derive' as const,
            source: source.name,
            column,
          })),
        ),
        rows: [source.name],
      },
      needs: (live) => {
        const need = new Set<string>();
        for (const c of live) {
          const d = byName.get(c);
          if (d) for (const x of d.expr.columns) need.add(x);
          else need.add(c);
        }
        return new Map([[source.name, need]]);
      },
      render: (live, table) => {
        // Each expression was compiled with its own parameters; only the live ones are bound.
        const params: SqlParam[] = [];
        const select = live.map((c) => {
          const d = byName.get(c);
          if (!d) return quoteIdent(c);
          const sql = shiftParams(d.expr.sql, params.length);
          params.push(...d.params.list);
          return `${sql} AS ${quoteIdent(c)}`;
        });
        return { sql: `SELECT ${select.join(', ')} FROM ${quoteIdent(table(source.name))}`, params };
      },
    };
  },
};
