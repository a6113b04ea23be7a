/**
 * Merging partial aggregates of one output: groups meet by key; counts, sums and
 * histogram bins add; means and second moments combine by Chan, Golub and LeVeque's
 * pairwise update (exact up to rounding, and stable where the naive sum of squares is
 * not); min and max keep the extreme; the counts of rows behind a group and behind each
 * cell add, which is exact because the chunks or nodes merged hold disjoint rows. The
 * merged partial asks the largest min_group_size any part asked.
 */
import { pipelineError } from '../errors.ts';
import { canonicalJson } from '../../common/hash.ts';
import type { MeasureState, PartialAggregate, PartialGroup, PartialMeasure } from './schema.ts';
import { addSums, compareValues } from './values.ts';

/**
 * The merge of partials of the same output (same pipeline, step and spec). Throws
 * 'pipeline_partial_mismatch' when their specs differ or there are none. Inputs are not
 * modified.
 */
export function mergePartials(parts: readonly PartialAggregate[]): PartialAggregate {
  const first = parts[0];
  if (!first) throw pipelineError('pipeline_partial_mismatch', 'no partial aggregates to merge');
  const spec = canonicalJson(first.spec);
  const groups = new Map<string, PartialGroup>();
  let minGroupSize = 1;
  for (const p of parts) {
    if (canonicalJson(p.spec) !== spec) {
      throw pipelineError(
        'pipeline_partial_mismatch',
        `partial aggregates of different outputs or plans cannot merge (${first.spec.step} and ${p.spec.step})`,
        { step: first.spec.step },
      );
    }
    minGroupSize = Math.max(minGroupSize, p.minGroupSize);
    for (const g of p.groups) {
      const key = canonicalJson(g.key);
      const had = groups.get(key);
      groups.set(key, had ? mergeGroup(first.spec.measures, had, g) : g);
    }
  }
  return { ...first, minGroupSize, groups: [...groups.values()] };
}

function add(a: readonly number[], b: readonly number[]): number[] {
  const out = a.length >= b.length ? [...a] : [...b];
  const other = a.length >= b.length ? b : a;
  other.forEach((x, i) => {
    out[i] = (out[i] as number) + x;
  });
  return out;
}

function mergeGroup(measures: readonly PartialMeasure[], a: PartialGroup, b: PartialGroup): PartialGroup {
  return {
    key: a.key,
    rows: add(a.rows, b.rows),
    states: measures.map((m, j) => mergeState(m, a.states[j] as MeasureState, b.states[j] as MeasureState)),
    cells: a.cells.map((perInput, c) => perInput.map((cells, i) => add(cells, b.cells[c]?.[i] ?? []))),
  };
}

function mergeState(m: PartialMeasure, a: MeasureState, b: MeasureState): MeasureState {
  if ('m2' in a && 'm2' in b) {
    // Chan et al.: combine (n, mean, M2) of two disjoint sets.
    const n = a.n + b.n;
    if (n === 0) return { n: 0, mean: 0, m2: 0 };
    const delta = b.mean - a.mean;
    return { n, mean: a.mean + (delta * b.n) / n, m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n };
  }
  if ('sum' in a && 'sum' in b) return { n: a.n + b.n, sum: addSums(a.sum, b.sum, m.integral === true) };
  if ('n' in a && 'n' in b) return { n: a.n + b.n };
  if ('counts' in a && 'counts' in b) return { counts: add(a.counts, b.counts) };
  if ('v' in a && 'v' in b) {
    if (a.v === null) return b;
    if (b.v === null) return a;
    const c = compareValues(a.v, b.v, m.type);
    return (m.kind === 'min' ? c <= 0 : c >= 0) ? a : b;
  }
  throw pipelineError('pipeline_partial_mismatch', `measure ${m.name}: partial states of different kinds`);
}
