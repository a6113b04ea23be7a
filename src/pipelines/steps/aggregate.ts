/**
 * The `aggregate` step: group the rows of `from` by `group_by` (none: one group of all
 * rows) and compute the measures. Output columns are the group-by columns, then the
 * measures in document order, named as the document names them. The table also holds
 * GROUP_ROWS, each group's input row count, which min_group_size suppression uses and
 * which never leaves the enclave.
 */
import { type ColumnType, quoteIdent } from '../../data/index.ts';
import { pipelineError } from '../errors.ts';
import { Params } from '../sql.ts';
import { compileMeasure } from './measures.ts';
import { type AnalysedStep, GROUP_ROWS, type PlanColumn, type StepCompiler, type StepContext } from './types.ts';

/** Compiler of aggregate steps. */
export const aggregateStep: StepCompiler = {
  analyse(ctx: StepContext): AnalysedStep {
    const body = ctx.step.aggregate;
    if (!body) throw new Error('not an aggregate step');
    const source = ctx.relation(body.from, 'from');
    const types = new Map(source.columns.map((c) => [c.name, c.type]));
    const groupBy = body.group_by ?? [];
    const columns: PlanColumn[] = [];
    const taken = new Map<string, string>(); // lower-case output name → path that took it
    const claim = (name: string, path: string) => {
      const key = name.toLowerCase();
      const other = taken.get(key);
      if (other !== undefined || key === GROUP_ROWS) {
        throw pipelineError('pipeline_invalid', `step ${ctx.id}: output column ${name} at ${path} repeats ${other ?? 'a reserved name'} (names are case-insensitive)`, {
          step: ctx.id,
          path,
        });
      }
      taken.set(key, path);
    };
    groupBy.forEach((name, i) => {
      const path = `${ctx.path}.group_by[${i}]`;
      const type = types.get(name);
      if (type === undefined) {
        throw pipelineError('pipeline_unknown_column', `step ${ctx.id}: group_by names unknown column ${name}`, {
          step: ctx.id,
          field: 'group_by',
          column: name,
          path,
        });
      }
      claim(name, path);
      columns.push({ name, type });
    });
    const params = new Params();
    const measureSql: string[] = [];
    const read = new Set<string>(groupBy);
    for (const [name, m] of Object.entries(body.measures)) {
      const path = `${ctx.path}.measures.${name}`;
      claim(name, path);
      const compiled = compileMeasure(m, { step: ctx.id, name, path, columns: types, params });
      if (compiled.column !== undefined) read.add(compiled.column);
      columns.push({ name, type: compiled.type as ColumnType });
      measureSql.push(`${compiled.sql} AS ${quoteIdent(name)}`);
    }
    return {
      sources: [source.name],
      columns,
      aggregate: true,
      groupBy,
      needs: () => new Map([[source.name, new Set(read)]]),
      render: (_live, table) => {
        const keys = groupBy.map(quoteIdent);
        const select = [...keys, ...measureSql, `count(*) AS ${quoteIdent(GROUP_ROWS)}`].join(', ');
        const group = keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : '';
        return { sql: `SELECT ${select} FROM ${quoteIdent(table(source.name))}${group}`, params: params.list };
      },
    };
  },
};
