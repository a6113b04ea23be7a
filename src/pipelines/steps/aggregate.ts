/**
 * The `aggregate` step: group the rows of `from` by `group_by` (none: one group of all
 * rows) and compute the measures. Output columns are the group-by columns, then the
 * measures in document order, named as the document names them. The table also holds,
 * per input behind it, the hidden count of distinct rows of that input behind each group
 * (provenance.ts), which min_group_size suppression uses and which never leaves the
 * enclave.
 *
 * SQL shape: an inner query groups and aggregates (after a projection of per-row values
 * where a measure needs one, e.g. a histogram's clamped value), an outer one finishes
 * values (a histogram's counts into JSON text) and names the columns.
 */
import { type ColumnType, quoteIdent } from '../../data/index.ts';
import { didYouMean } from '../../common/did-you-mean.ts';
import { pipelineError } from '../errors.ts';
import { measureKind } from '../schema.ts';
import { Params } from '../sql.ts';
import { type CompiledMeasure, compileMeasure } from './measures.ts';
import { type CellCount, groupCounts, histogramCellCounts } from './provenance.ts';
import {
  type AnalysedStep,
  HIDDEN_PREFIX,
  type PlanColumn,
  type SourceColumn,
  type StepCompiler,
  type StepContext,
  type StepLineage,
} from './types.ts';

/** Measures whose released value is one row's value, or says where rows lie: their column is output. */
const RELEASING_KINDS: ReadonlySet<string> = new Set(['min', 'max', 'quantile', 'histogram']);

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
      const other = taken.get(name.toLowerCase());
      if (other !== undefined) {
        throw pipelineError(
          'pipeline_invalid',
          `step ${ctx.id}: output column ${name} at ${path} repeats ${other} (names are case-insensitive)`,
          {
            step: ctx.id,
            path,
          },
        );
      }
      taken.set(name.toLowerCase(), path);
    };
    groupBy.forEach((name, i) => {
      const path = `${ctx.path}.group_by[${i}]`;
      const type = types.get(name);
      if (type === undefined) {
        throw pipelineError(
          'pipeline_unknown_column',
          `step ${ctx.id}: group_by names unknown column ${name}${didYouMean(name, types.keys())}`,
          {
            step: ctx.id,
            field: 'group_by',
            column: name,
            path,
          },
        );
      }
      claim(name, path);
      columns.push({ name, type });
    });
    const params = new Params();
    const measures: {
      name: string;
      alias: string;
      pre: string;
      m: CompiledMeasure;
      cells: (CellCount & { column: string })[];
    }[] = [];
    const read = new Set<string>(groupBy);
    const from = (column: string): SourceColumn => ({ source: source.name, column });
    const lineage: StepLineage = {
      columns: new Map(groupBy.map((g) => [g, [from(g)]])),
      uses: groupBy.flatMap((g) => [
        { use: 'group_by' as const, ...from(g) },
        { use: 'output' as const, ...from(g) },
      ]),
      rows: [source.name],
      cells: [],
    };
    Object.entries(body.measures).forEach(([name, measure], j) => {
      const path = `${ctx.path}.measures.${name}`;
      claim(name, path);
      const pre = quoteIdent(`${HIDDEN_PREFIX}x${j}`);
      const m = compileMeasure(measure, { step: ctx.id, name, path, columns: types, params, preAlias: pre });
      const kind = measureKind(measure);
      lineage.columns.set(name, m.column === undefined ? [] : [from(m.column)]);
      if (m.column !== undefined) {
        read.add(m.column);
        lineage.uses.push({ use: 'aggregate', ...from(m.column) });
        if (RELEASING_KINDS.has(kind)) lineage.uses.push({ use: 'output', ...from(m.column) });
      }
      if (kind === 'histogram')
        lineage.cells?.push({ measure: name, count: histogramCells(measure.bins as number | number[]) });
      columns.push({ name, type: m.type as ColumnType });
      // Each histogram cell is a group for min_group_size: count the distinct input rows behind it.
      const cells = m.cells
        ? histogramCellCounts(source.tracks, m.cells.bin, pre, m.cells.count, String(j)).map((c) => ({
            ...c,
            column: `${HIDDEN_PREFIX}cells${j}_${c.input}`,
          }))
        : [];
      measures.push({ name, alias: quoteIdent(`${HIDDEN_PREFIX}m${j}`), pre, m, cells });
    });
    const counts = groupCounts(source.tracks);
    return {
      sources: [source.name],
      columns,
      aggregate: true,
      parallel:
        measures.every((x) => x.m.orderFree && !x.m.distinct && x.cells.every((c) => !c.distinct)) &&
        counts.every((c) => !c.distinct),
      groupBy,
      tracks: counts.map((c) => c.track),
      rowCounts: counts.map((c) => ({ input: c.input, column: c.track.countColumn as string })),
      cellCounts: measures.flatMap((x) =>
        x.cells.map((c) => ({ measure: x.name, input: c.input, column: c.column })),
      ),
      lineage,
      needs: (live) => {
        const need = new Set(read);
        for (const x of measures) for (const c of x.cells) for (const n of c.needs) need.add(n);
        for (const c of counts) {
          for (const x of c.countNeeds) need.add(x);
          if (live.has(c.track.column)) for (const x of c.listNeeds) need.add(x);
        }
        return new Map([[source.name, need]]);
      },
      render: (live, table) => {
        const keys = groupBy.map(quoteIdent);
        const pres = measures.filter((x) => x.m.pre !== undefined).map((x) => `${x.m.pre} AS ${x.pre}`);
        const from = quoteIdent(table(source.name));
        const rows = pres.length
          ? `(SELECT *, ${pres.join(', ')} FROM ${from}) AS ${quoteIdent(`${HIDDEN_PREFIX}p`)}`
          : from;
        const inner = [...keys, ...measures.map((x) => `${x.m.sql} AS ${x.alias}`)];
        const outer = [
          ...keys,
          ...measures.map((x) => `${x.m.finish ? x.m.finish(x.alias) : x.alias} AS ${quoteIdent(x.name)}`),
        ];
        for (const x of measures) {
          for (const c of x.cells) {
            if (c.inner) inner.push(`${c.inner.sql} AS ${quoteIdent(c.inner.alias)}`);
            outer.push(`${c.list(x.alias)} AS ${quoteIdent(c.column)}`);
          }
        }
        for (const c of counts) {
          const wantList = live.includes(c.track.column);
          for (const i of c.inner)
            if (!i.forList || wantList) inner.push(`${i.sql} AS ${quoteIdent(i.alias)}`);
          outer.push(`${c.count} AS ${quoteIdent(c.track.countColumn as string)}`);
          if (wantList) outer.push(`${c.list} AS ${quoteIdent(c.track.column)}`);
        }
        const group = keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : '';
        const sql = `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM ${rows}${group}) AS ${quoteIdent(`${HIDDEN_PREFIX}g`)}`;
        return { sql, params: params.list };
      },
    };
  },
};

/** How many cells a histogram releases: a bin count, or one fewer than its edges. */
function histogramCells(bins: number | number[]): number {
  return typeof bins === 'number' ? bins : bins.length - 1;
}
