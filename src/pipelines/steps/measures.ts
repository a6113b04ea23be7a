/**
 * Measures of the aggregate step. This release computes count, sum, mean, min and max
 * (with `bounds` clamping each value into [low, high] first; a null stays null); the
 * other v1 measures parse but are refused by name until a later release adds them here.
 * Min and max of string columns are refused: they would release one row's value
 * verbatim (an identifier, say).
 */
import { type ColumnType, isIntegerType, isNumericType, quoteIdent } from '../../data/index.ts';
import { pipelineError } from '../errors.ts';
import { type Measure, type MeasureKind, measureKind } from '../schema.ts';
import type { Params } from '../sql.ts';

/** Where a measure sits, for compiling it and for naming it in errors. */
export interface MeasureContext {
  step: string;
  /** Measure name as the document names it. */
  name: string;
  /** Document path of the measure, e.g. "steps[1].aggregate.measures.mean_cost". */
  path: string;
  columns: ReadonlyMap<string, ColumnType>;
  params: Params;
}

/** A compiled measure: its SQL aggregate expression, result type and the column it reads. */
export interface CompiledMeasure {
  sql: string;
  type: ColumnType;
  column?: string;
}

type MeasureCompiler = (m: Measure, column: string | undefined, ctx: MeasureContext) => CompiledMeasure;

/** The value a measure aggregates: the column (booleans as 0/1), clamped to `bounds` if given. */
function measuredValue(m: Measure, column: string, type: ColumnType, ctx: MeasureContext): { sql: string; integral: boolean } {
  let sql = quoteIdent(column);
  let integral = isIntegerType(type);
  if (type === 'bool') {
    sql = `CAST(${sql} AS INTEGER)`;
    integral = true;
  }
  if (m.bounds) {
    if (!isNumericType(type) && type !== 'bool') {
      throw pipelineError('pipeline_type_mismatch', `step ${ctx.step}: measure ${ctx.name} has bounds but column ${column} is ${type}`, {
        step: ctx.step,
        field: `measures.${ctx.name}.bounds`,
        column,
        type,
        path: `${ctx.path}.bounds`,
      });
    }
    const [lo, hi] = m.bounds;
    integral = integral && Number.isSafeInteger(lo) && Number.isSafeInteger(hi);
    const pt = integral ? 'BIGINT' : 'DOUBLE';
    sql = `(CASE WHEN ${sql} IS NULL THEN NULL ELSE least(greatest(${sql}, ${ctx.params.add(lo, pt)}), ${ctx.params.add(hi, pt)}) END)`;
  }
  return { sql, integral };
}

function typed(ctx: MeasureContext, column: string, accepts: (t: ColumnType) => boolean, what: string): ColumnType {
  const type = ctx.columns.get(column) as ColumnType;
  if (!accepts(type)) {
    throw pipelineError('pipeline_type_mismatch', `step ${ctx.step}: measure ${ctx.name} needs ${what}, but column ${column} is ${type}`, {
      step: ctx.step,
      field: `measures.${ctx.name}`,
      column,
      type,
      path: ctx.path,
    });
  }
  return type;
}

const numberLike = (t: ColumnType) => isNumericType(t) || t === 'bool';
const orderable = (t: ColumnType) => t !== 'string';

const COMPILERS: ReadonlyMap<MeasureKind, MeasureCompiler> = new Map<MeasureKind, MeasureCompiler>([
  ['count', (_m, column) => (column === undefined ? { sql: 'count(*)', type: 'int64' } : { sql: `count(${quoteIdent(column)})`, type: 'int64', column })],
  [
    'sum',
    (m, column, ctx) => {
      const c = column as string;
      const v = measuredValue(m, c, typed(ctx, c, numberLike, 'a number or bool column'), ctx);
      return { sql: `sum(${v.sql})`, type: v.integral ? 'int64' : 'float64', column: c };
    },
  ],
  [
    'mean',
    (m, column, ctx) => {
      const c = column as string;
      const v = measuredValue(m, c, typed(ctx, c, numberLike, 'a number or bool column'), ctx);
      return { sql: `avg(${v.sql})`, type: 'float64', column: c };
    },
  ],
  ['min', (m, column, ctx) => extreme('min', m, column as string, ctx)],
  ['max', (m, column, ctx) => extreme('max', m, column as string, ctx)],
]);

function extreme(fn: 'min' | 'max', m: Measure, column: string, ctx: MeasureContext): CompiledMeasure {
  const type = typed(ctx, column, orderable, 'a number, bool, date or timestamp column (min/max of strings would release a value)');
  if (!m.bounds) return { sql: `${fn}(${quoteIdent(column)})`, type, column };
  const v = measuredValue(m, column, type, ctx);
  return { sql: `${fn}(${v.sql})`, type: v.integral ? 'int64' : 'float64', column };
}

/**
 * Compile one measure. Throws 'pipeline_step_unsupported' for measures this release cannot
 * run, 'pipeline_unknown_column' for a missing column and 'pipeline_type_mismatch' for a
 * column of the wrong type.
 */
export function compileMeasure(m: Measure, ctx: MeasureContext): CompiledMeasure {
  const kind = measureKind(m);
  const compiler = COMPILERS.get(kind);
  if (!compiler) {
    throw pipelineError('pipeline_step_unsupported', `step ${ctx.step}: measure ${ctx.name} uses ${kind}, which this release cannot run yet`, {
      step: ctx.step,
      measure: ctx.name,
      kind,
      path: ctx.path,
    });
  }
  const ref = m[kind] as string;
  const column = kind === 'count' && ref === '*' ? undefined : ref;
  if (column !== undefined && !ctx.columns.has(column)) {
    throw pipelineError('pipeline_unknown_column', `step ${ctx.step}: measure ${ctx.name} reads unknown column ${column}`, {
      step: ctx.step,
      field: `measures.${ctx.name}`,
      column,
      path: `${ctx.path}.${kind}`,
    });
  }
  return compiler(m, column, ctx);
}
