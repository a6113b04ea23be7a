/**
 * Measures of the aggregate step, one compiler per kind:
 *
 * | kind | SQL | result |
 * | --- | --- | --- |
 * | count | count(*) or count(column): non-null values | int64 |
 * | count_distinct | count(DISTINCT column): distinct non-null values | int64 |
 * | sum | sum(value) | int64 for integers and bools with integer bounds, else float64 |
 * | mean | avg(value) | float64 |
 * | min, max | min/max(value) | the column's type (float64/int64 once clamped) |
 * | stddev, variance | stddev_samp/var_samp(value): sample (n − 1), null below 2 values (*) | float64 |
 * | quantile | quantile_cont(value, q): linear interpolation between order statistics | float64 |
 * | histogram | counts per bin as JSON text, see histogram.ts | string |
 *
 * The value is the column, booleans as 0/1, clamped into `bounds` = [low, high] when given
 * (a null stays null, and every measure skips nulls). Min and max of strings are refused:
 * they would release one row's value verbatim (an identifier, say).
 *
 * (*) DuckDB raises for a NaN, an infinity or a sum of squares beyond the float range in
 * these two, and a failure that depends on the rows would tell something about them (see
 * expr/compile.ts). So for a float64 value they skip NaN and infinite values, as nulls,
 * and clamp the others into ±1e100, whose squares no realistic row count can overflow.
 */
import { type ColumnType, quoteIdent } from '../../data/index.ts';
import { didYouMean } from '../../common/did-you-mean.ts';
import { pipelineError } from '../errors.ts';
import { type Measure, type MeasureKind, measureKind } from '../schema.ts';
import { histogramMeasure } from './histogram.ts';
import {
  type CompiledMeasure,
  type MeasureCompiler,
  type MeasureContext,
  measuredValue,
  numberLike,
  typed,
} from './measure-values.ts';

export type { CompiledMeasure, MeasureContext } from './measure-values.ts';

const orderable = (t: ColumnType) => t !== 'string';
const NUMBER_OR_BOOL = 'a number or bool column';

/**
 * A measure over the (clamped) number value: `fn(value, ...extra)`, float64 unless `keepInts`.
 * `exact`: whether `fn` is exact whatever the order of the values (an order statistic), else
 * only over integers (a sum: DuckDB adds integers exactly, in 128 bits, and avg divides that sum once).
 */
function numeric(
  fn: string,
  keepInts: boolean,
  exact: boolean,
  extra: (m: Measure, ctx: MeasureContext) => string[] = () => [],
): MeasureCompiler {
  return (m, column, ctx) => {
    const c = column as string;
    const v = measuredValue(m, c, typed(ctx, c, numberLike, NUMBER_OR_BOOL), ctx);
    return {
      sql: `${fn}(${[v.sql, ...extra(m, ctx)].join(', ')})`,
      type: keepInts && v.integral ? 'int64' : 'float64',
      column: c,
      orderFree: exact || v.integral,
    };
  };
}

function extreme(fn: 'min' | 'max'): MeasureCompiler {
  return (m, column, ctx) => {
    const c = column as string;
    const type = typed(
      ctx,
      c,
      orderable,
      'a number, bool, date or timestamp column (min/max of strings would release a value)',
    );
    // An extreme is one of the values, whichever order they come in.
    if (!m.bounds) return { sql: `${fn}(${quoteIdent(c)})`, type, column: c, orderFree: true };
    const v = measuredValue(m, c, type, ctx);
    return { sql: `${fn}(${v.sql})`, type: v.integral ? 'int64' : 'float64', column: c, orderFree: true };
  };
}

/**
 * stddev / variance: `fn` over the value, kept finite and within ±1e100 for floats (see the
 * file comment). Never order-free: DuckDB updates running float moments, integers too.
 */
function moment(fn: string): MeasureCompiler {
  return (m, column, ctx) => {
    const c = column as string;
    const v = measuredValue(m, c, typed(ctx, c, numberLike, NUMBER_OR_BOOL), ctx);
    if (v.integral) return { sql: `${fn}(${v.sql})`, type: 'float64', column: c, orderFree: false };
    const [lo, hi] = [ctx.params.add(-1e100, 'DOUBLE'), ctx.params.add(1e100, 'DOUBLE')];
    return {
      sql: `${fn}(CASE WHEN isfinite(${v.sql}) THEN least(greatest(${v.sql}, ${lo}), ${hi}) END)`,
      type: 'float64',
      column: c,
      orderFree: false,
    };
  };
}

const COMPILERS: ReadonlyMap<MeasureKind, MeasureCompiler> = new Map<MeasureKind, MeasureCompiler>([
  [
    'count',
    (_m, column) =>
      column === undefined
        ? { sql: 'count(*)', type: 'int64', orderFree: true }
        : { sql: `count(${quoteIdent(column)})`, type: 'int64', column, orderFree: true },
  ],
  [
    'count_distinct',
    (_m, column) => ({
      sql: `count(DISTINCT ${quoteIdent(column as string)})`,
      type: 'int64',
      column,
      orderFree: true,
      distinct: true,
    }),
  ],
  ['sum', numeric('sum', true, false)],
  ['mean', numeric('avg', false, false)],
  ['min', extreme('min')],
  ['max', extreme('max')],
  ['stddev', moment('stddev_samp')],
  ['variance', moment('var_samp')],
  // Interpolates between two order statistics, which are the same values in any order.
  ['quantile', numeric('quantile_cont', false, true, (m, ctx) => [ctx.params.add(m.q as number, 'DOUBLE')])],
  ['histogram', histogramMeasure],
]);

/**
 * Compile one measure. Throws 'pipeline_step_unsupported' for a kind without a compiler,
 * 'pipeline_unknown_column' for a missing column and 'pipeline_type_mismatch' for a
 * column of the wrong type.
 */
export function compileMeasure(m: Measure, ctx: MeasureContext): CompiledMeasure {
  const kind = measureKind(m);
  const compiler = COMPILERS.get(kind);
  if (!compiler) {
    throw pipelineError(
      'pipeline_step_unsupported',
      `step ${ctx.step}: measure ${ctx.name} uses ${kind}, which this release cannot run`,
      {
        step: ctx.step,
        measure: ctx.name,
        kind,
        path: ctx.path,
      },
    );
  }
  const ref = m[kind] as string;
  const column = kind === 'count' && ref === '*' ? undefined : ref;
  if (column !== undefined && !ctx.columns.has(column)) {
    throw pipelineError(
      'pipeline_unknown_column',
      `step ${ctx.step}: measure ${ctx.name} reads unknown column ${column}${didYouMean(column, ctx.columns.keys())}`,
      {
        step: ctx.step,
        field: `measures.${ctx.name}`,
        column,
        path: `${ctx.path}.${kind}`,
      },
    );
  }
  return compiler(m, column, ctx);
}
