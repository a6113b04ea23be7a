/**
 * What a federated training worker tells the aggregator of its training rows before any
 * round: per feature, counts of categories or the moments of numbers, and the label's
 * moments (aggregates only, sealed to the aggregator), from which the aggregator merges one
 * encoding for every worker (src/federation/merge.ts).
 */
import { ObscuraError } from '../common/errors.ts';
import type { EncodingStats } from '../federation/merge.ts';
import type { DataColumn } from '../ml/encode.ts';

/** A worker's encoding statistics of its training rows (aggregates only). */
export function encodingStats(
  columns: DataColumn[],
  train: number[],
  maxCategories: number,
  step: string,
): EncodingStats {
  // A typed column marks a missing value NaN; an array holds null.
  const num = (v: unknown) =>
    typeof v === 'number'
      ? Number.isFinite(v)
        ? v
        : undefined
      : typeof v === 'boolean'
        ? v
          ? 1
          : 0
        : typeof v === 'bigint'
          ? Number(v)
          : undefined;
  const features = columns.slice(0, -1).map((c): EncodingStats['features'][number] => {
    if (c.type === 'bool') return { name: c.name, kind: 'bool' };
    if (c.type === 'string') {
      const counts: Record<string, number> = {};
      for (const i of train) {
        const v = c.values[i];
        if (typeof v === 'string') counts[v] = (counts[v] ?? 0) + 1;
      }
      if (Object.keys(counts).length > maxCategories) {
        throw new ObscuraError(
          'ml_vocabulary_too_large',
          `step ${step}: feature ${c.name} has more than ${maxCategories} distinct values`,
          422,
          { step, column: c.name },
        );
      }
      return { name: c.name, kind: 'onehot', counts };
    }
    let n = 0;
    let sum = 0;
    let sumsq = 0;
    for (const i of train) {
      const x = num(c.values[i]);
      if (x === undefined) continue;
      n++;
      sum += x;
      sumsq += x * x;
    }
    return { name: c.name, kind: 'numeric', n, sum, sumsq };
  });
  const label = columns[columns.length - 1] as DataColumn;
  let sum = 0;
  let sumsq = 0;
  for (const i of train) {
    const y = num(label.values[i]) ?? 0;
    sum += y;
    sumsq += y * y;
  }
  return { features, label: { n: train.length, sum, sumsq } };
}
