/**
 * What measure compilers share: the context a measure is compiled in, the compiled form
 * (an aggregate, optionally a value computed per row before grouping and a finishing
 * expression after), and the value a numeric measure aggregates — the column, booleans
 * as 0/1, clamped into `bounds` when given.
 */
import { type ColumnType, isIntegerType, isNumericType, quoteIdent } from '../../data/index.ts';
import { pipelineError } from '../errors.ts';
import type { Measure } from '../schema.ts';
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
  /** Quoted alias under which a per-row value computed before grouping (`pre`) can be read. */
  preAlias: string;
}

/** A compiled measure. */
export interface CompiledMeasure {
  /** The aggregate over the grouped rows. */
  sql: string;
  /** Turns the aggregate (given as SQL) into the released value; the identity when absent. */
  finish?: (aggregate: string) => string;
  /** A per-row expression computed before grouping, read in `sql` as ctx.preAlias. */
  pre?: string;
  type: ColumnType;
  column?: string;
  /**
   * Whether the aggregate comes out the same, bit for bit, whatever order its rows arrive
   * in — so DuckDB may compute it on several threads (pipelines/threads.ts): counts, min and
   * max, order statistics, and sums of integers (exact, in DuckDB's 128-bit integers); not a
   * float sum, whose rounding depends on the order the partial sums are added in.
   */
  orderFree: boolean;
  /** Counts distinct values: DuckDB keeps a table of them per group and per thread (AnalysedStep.parallel). */
  distinct?: boolean;
  /** A histogram: its per-row bin (SQL over ctx.preAlias, null-free where the value is not null) and its number of cells. */
  cells?: { bin: string; count: number };
}

/** Compiles one measure kind, given its column (undefined for `count: "*"`). */
export type MeasureCompiler = (
  m: Measure,
  column: string | undefined,
  ctx: MeasureContext,
) => CompiledMeasure;

/** The value a measure aggregates: the column (booleans as 0/1), clamped to `bounds` if given. */
export function measuredValue(
  m: Measure,
  column: string,
  type: ColumnType,
  ctx: MeasureContext,
): { sql: string; integral: boolean } {
  let sql = quoteIdent(column);
  let integral = isIntegerType(type);
  if (type === 'bool') {
    sql = `CAST(${sql} AS INTEGER)`;
    integral = true;
  }
  if (m.bounds) {
    if (!numberLike(type)) {
      throw pipelineError(
        'pipeline_type_mismatch',
        `step ${ctx.step}: measure ${ctx.name} has bounds but column ${column} is ${type}`,
        {
          step: ctx.step,
          field: `measures.${ctx.name}.bounds`,
          column,
          type,
          path: `${ctx.path}.bounds`,
        },
      );
    }
    const [lo, hi] = m.bounds;
    integral = integral && Number.isSafeInteger(lo) && Number.isSafeInteger(hi);
    const pt = integral ? 'BIGINT' : 'DOUBLE';
    sql = `(CASE WHEN ${sql} IS NULL THEN NULL ELSE least(greatest(${sql}, ${ctx.params.add(lo, pt)}), ${ctx.params.add(hi, pt)}) END)`;
  }
  return { sql, integral };
}

/** The column's type, or pipeline_type_mismatch when `accepts` refuses it. */
export function typed(
  ctx: MeasureContext,
  column: string,
  accepts: (t: ColumnType) => boolean,
  what: string,
): ColumnType {
  const type = ctx.columns.get(column) as ColumnType;
  if (!accepts(type)) {
    throw pipelineError(
      'pipeline_type_mismatch',
      `step ${ctx.step}: measure ${ctx.name} needs ${what}, but column ${column} is ${type}`,
      {
        step: ctx.step,
        field: `measures.${ctx.name}`,
        column,
        type,
        path: ctx.path,
      },
    );
  }
  return type;
}

/** Numbers and booleans (as 0/1): what sums, means, moments, quantiles and histograms take. */
export const numberLike = (t: ColumnType): boolean => isNumericType(t) || t === 'bool';
