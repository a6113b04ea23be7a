/**
 * The histogram measure. Output: one string cell per group holding a JSON array of
 * integer counts, one per bin, in bin order (e.g. `[0,4,17,3]`) — so an aggregate stays
 * one row per group, whatever else it measures, and the table stays scalar. Null values
 * are not counted. Bins are fixed by the document, never by the data:
 *
 * - `bins: n` with `bounds: [lo, hi]` (lo < hi): n bins of equal width. A value v is
 *   clamped into [lo, hi] and falls in bin min(floor((v − lo) / (hi − lo) × n), n − 1),
 *   so bin i covers [lo + i·w, lo + (i+1)·w) and the last one also holds hi.
 * - `bins: [e0, e1, …, en]` (strictly increasing; `bounds`, if given, must be [e0, en]):
 *   n bins, bin i covering [e_i, e_{i+1}), the last one also holding en. Values are
 *   clamped into [e0, en] first. The bin is found by a balanced CASE tree (log2 n tests).
 *
 * Clamping means values below the range count in the first bin and above it in the last.
 */
import { pipelineError } from '../errors.ts';
import type { Measure } from '../schema.ts';
import {
  type CompiledMeasure,
  type MeasureContext,
  measuredValue,
  numberLike,
  typed,
} from './measure-values.ts';

/** Compile a histogram measure (bins and bounds were checked by the document schema). */
export function histogramMeasure(
  m: Measure,
  column: string | undefined,
  ctx: MeasureContext,
): CompiledMeasure {
  const c = column as string;
  const type = typed(ctx, c, numberLike, 'a number or bool column');
  const bins = m.bins as number | number[];
  const edges = typeof bins === 'number' ? undefined : bins;
  const bounds: [number, number] | undefined = edges
    ? [edges[0] as number, edges[edges.length - 1] as number]
    : m.bounds;
  if (!bounds) {
    // The schema requires bounds with a bin count; kept as a guard for documents built in code.
    throw pipelineError('pipeline_invalid', `step ${ctx.step}: histogram ${ctx.name} needs bounds`, {
      step: ctx.step,
      path: `${ctx.path}.bounds`,
    });
  }
  const value = measuredValue({ ...m, bounds }, c, type, ctx);
  const p = ctx.params;
  const x = ctx.preAlias;
  const n = edges ? edges.length - 1 : (bins as number);
  let bin: string;
  if (edges) {
    // Only the inner edges are tested (values are already clamped to the outer ones).
    const edge = edges.map((e, i) => (i > 0 && i < n ? p.add(e, 'DOUBLE') : ''));
    const find = (a: number, b: number): string => {
      if (a === b) return String(a);
      const mid = (a + b + 1) >> 1;
      return `(CASE WHEN ${x} < ${edge[mid]} THEN ${find(a, mid - 1)} ELSE ${find(mid, b)} END)`;
    };
    bin = find(0, n - 1);
  } else {
    const [lo, hi] = bounds;
    const scaled = `floor(((${x} - ${p.add(lo, 'DOUBLE')}) / (${p.add(hi, 'DOUBLE')} - ${p.add(lo, 'DOUBLE')})) * ${p.add(n, 'BIGINT')})`;
    // TRY_CAST: a NaN value would make CAST raise (a failure that depends on the rows); as
    // NULL, least() puts it in the last bin, where clamping puts every value above hi.
    bin = `least(TRY_CAST(${scaled} AS BIGINT), ${p.add(n - 1, 'BIGINT')})`;
  }
  const count = p.add(n, 'BIGINT');
  const [open, comma, close] = [p.add('[', 'VARCHAR'), p.add(',', 'VARCHAR'), p.add(']', 'VARCHAR')];
  return {
    pre: value.sql,
    // least() and CASE would put a null value in a bin: nulls are filtered out first.
    sql: `histogram(${bin}) FILTER (WHERE ${x} IS NOT NULL)`,
    finish: (agg) =>
      `(${open} || array_to_string(list_transform(range(${count}), lambda "__obscura_i": coalesce(map_extract(${agg}, "__obscura_i")[1], 0)), ${comma}) || ${close})`,
    type: 'string',
    column: c,
    // Counts per bin: integers.
    orderFree: true,
    cells: { bin, count: n },
  };
}
