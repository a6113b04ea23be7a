/**
 * Finishing a (merged) partial aggregate into a released output — the only place a partial
 * becomes something that may leave the enclave. The exact value of each measure is computed
 * from its state; then the release rule of a local run applies, from the same code: without
 * DP, a group is released when every input has at least min_group_size rows behind it and
 * its histogram cells are suppressed by cell-suppression.ts; with DP, releaseDp (dp.ts)
 * selects groups by a noisy count and noises each measure. Groups are sorted by the
 * group-by columns, nulls first, as the runner sorts them.
 */
import type { NoiseSpec } from '../../privacy/dp/index.ts';
import { groupReleased, suppressGroupCells } from '../cell-suppression.ts';
import { type DpOutputPlan, type ExactGroup, quantileFromHistogram, releaseDp } from '../dp.ts';
import type { OutputValue } from '../results.ts';
import type { PipelineOutput } from '../run.ts';
import type { MeasureState, PartialAggregate, PartialMeasure } from './schema.ts';
import { compareValues } from './values.ts';

/** Options of finalizePartial. */
export interface FinalizeOptions {
  /** Raise min_group_size (e.g. to the coordinator's policy); never lowers the partial's. */
  minGroupSize?: number;
  /** The noise function (tests only; defaults to the exact samplers). */
  noise?: (value: number, sensitivity: number, integer: boolean, spec: NoiseSpec) => number;
}

/**
 * The released output of a partial aggregate: min_group_size and, for a DP output, the
 * noise applied after the merge, exactly as a local run applies them.
 */
export function finalizePartial(partial: PartialAggregate, opts: FinalizeOptions = {}): PipelineOutput {
  const { spec } = partial;
  const minGroupSize = Math.max(partial.minGroupSize, opts.minGroupSize ?? 1);
  const types = new Map(spec.columns.map((c) => [c.name, c.type]));
  const groups = [...partial.groups].sort((a, b) => {
    for (const [i, k] of spec.groupBy.entries()) {
      const c = compareValues(a.key[i] ?? null, b.key[i] ?? null, types.get(k));
      if (c !== 0) return c;
    }
    return 0;
  });
  const exact = groups.map((g) => {
    const values: Record<string, OutputValue> = {};
    spec.groupBy.forEach((k, i) => {
      values[k] = g.key[i] ?? null;
    });
    spec.measures.forEach((m, j) => {
      values[m.name] = exactValue(m, g.states[j] as MeasureState);
    });
    return { values, rows: g.rows, cells: g.cells };
  });
  if (spec.dp) {
    const dpGroups: ExactGroup[] = exact.map((g) => ({ values: g.values, rows: g.rows[0] ?? 0 }));
    const released = releaseDp(spec.dp as DpOutputPlan, dpGroups, spec.columns, minGroupSize, opts.noise);
    return {
      columns: spec.columns,
      rows: released.rows,
      // Under DP, groups below the noisy threshold are dropped uncounted: their number would leak.
      suppressedGroups: 0,
      minGroupSize,
      dp: released.dp,
    };
  }
  let suppressedGroups = 0;
  let suppressedCells = 0;
  const rows: OutputValue[][] = [];
  for (const g of exact) {
    if (!groupReleased(g.rows, minGroupSize)) {
      suppressedGroups++;
      continue;
    }
    spec.cells.forEach((measure, c) => {
      const counts = JSON.parse(String(g.values[measure])) as number[];
      const kept = suppressGroupCells(counts, g.cells[c] ?? [], minGroupSize);
      suppressedCells += kept.suppressed;
      g.values[measure] = JSON.stringify(kept.cells);
    });
    rows.push(spec.columns.map((c) => g.values[c.name] ?? null));
  }
  return {
    columns: spec.columns,
    rows,
    suppressedGroups,
    ...(spec.cells.length ? { suppressedCells } : {}),
    minGroupSize,
  };
}

/** The exact value of one measure from its state, as DuckDB computes it over all the rows. */
function exactValue(m: PartialMeasure, s: MeasureState): OutputValue {
  switch (m.kind) {
    case 'count':
      return 'n' in s ? s.n : 0;
    case 'sum':
      return 'sum' in s && s.n > 0 ? s.sum : null;
    case 'mean':
      return 'sum' in s && s.n > 0 ? Number(s.sum) / s.n : null;
    case 'variance':
    case 'stddev': {
      if (!('m2' in s) || s.n < 2) return null;
      const variance = s.m2 / (s.n - 1);
      return m.kind === 'variance' ? variance : Math.sqrt(variance);
    }
    case 'min':
    case 'max':
      return 'v' in s ? s.v : null;
    case 'histogram':
      return JSON.stringify('counts' in s ? s.counts : []);
    case 'quantile': {
      const counts = 'counts' in s ? s.counts : [];
      const [lo, hi] = m.bounds ?? [0, 0];
      if (!counts.some((c) => c > 0)) return null;
      return hi > lo ? quantileFromHistogram(counts, lo, hi, m.q ?? 0.5) : lo;
    }
  }
}
