/**
 * The `filter` step: keep the rows of `from` for which `where` is true. Its output is
 * row-level, so it can feed other steps but never be an output itself.
 */
import { quoteIdent } from '../../data/index.ts';
import { pipelineError } from '../errors.ts';
import { compileExpression, ExpressionError, UnknownColumnError } from '../expr/index.ts';
import { Params } from '../sql.ts';
import { type AnalysedStep, passedThrough, type StepCompiler, type StepContext } from './types.ts';

/** Turn an expression failure into the document-level error naming step, field and offset. */
export function expressionFailure(
  e: unknown,
  ctx: StepContext,
  field: string,
  path = `${ctx.path}.${field}`,
): never {
  if (e instanceof UnknownColumnError) {
    throw pipelineError(
      'pipeline_unknown_column',
      `step ${ctx.id}: ${field} ${e.reason} at offset ${e.offset}`,
      {
        step: ctx.id,
        field,
        column: e.column,
        path,
        offset: e.offset,
      },
    );
  }
  if (e instanceof ExpressionError) {
    throw pipelineError(
      'pipeline_expression_invalid',
      `step ${ctx.id}: ${field} is invalid at offset ${e.offset}: ${e.reason}`,
      {
        step: ctx.id,
        field,
        path,
        offset: e.offset,
      },
    );
  }
  throw e;
}

/** Compiler of filter steps. */
export const filterStep: StepCompiler = {
  analyse(ctx: StepContext): AnalysedStep {
    const body = ctx.step.filter;
    if (!body) throw new Error('not a filter step');
    const source = ctx.relation(body.from, 'from');
    const params = new Params();
    let where: ReturnType<typeof compileExpression>;
    try {
      where = compileExpression(body.where, new Map(source.columns.map((c) => [c.name, c.type])), params);
    } catch (e) {
      expressionFailure(e, ctx, 'where');
    }
    if (where.type !== 'bool' && where.type !== 'null') {
      expressionFailure(
        new ExpressionError(`where must be a true/false expression, not ${where.type}`, 0),
        ctx,
        'where',
      );
    }
    return {
      sources: [source.name],
      columns: source.columns,
      aggregate: false,
      // One row at a time.
      parallel: true,
      groupBy: [],
      tracks: source.tracks,
      lineage: {
        columns: passedThrough(source),
        uses: [...new Set(where.columns)].map((column) => ({ use: 'filter', source: source.name, column })),
        rows: [source.name],
      },
      needs: (live) => new Map([[source.name, new Set([...live, ...where.columns])]]),
      render: (live, table) => ({
        sql: `SELECT ${live.map(quoteIdent).join(', ')} FROM ${quoteIdent(table(source.name))} WHERE ${where.sql}`,
        params: params.list,
      }),
    };
  },
};
