/**
 * Turning rows into a model's inputs: numbers standardised with the training split's mean
 * and standard deviation (a missing number becomes the mean, i.e. 0), booleans as 0/1, and
 * strings one-hot encoded over a vocabulary fixed from the training split and bounded by
 * `max_categories` (a column with more distinct values is refused: its categories would
 * be near-identifiers) and trimmed of categories rarer than the output's min_group_size.
 * Unseen or missing strings encode as all zeros. Numbers with declared bounds are clamped
 * and scaled by the bounds instead. The encoder is part
 * of the released model's description, so the weights can be used outside Obscura.
 */
import { ObscuraError } from '../common/errors.ts';

/** A column of training data as the pipeline produced it. */
export interface DataColumn {
  name: string;
  type: string;
  values: readonly unknown[];
}

/** How one feature column becomes model inputs. */
export type FeatureEncoding =
  | { name: string; kind: 'numeric'; mean: number; std: number; bounds?: [number, number] }
  | { name: string; kind: 'bool' }
  | { name: string; kind: 'onehot'; vocabulary: string[] };

/** Default bound on a string feature's distinct values. */
export const DEFAULT_MAX_CATEGORIES = 32;

const NUMERIC = new Set(['int32', 'int64', 'float64']);

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/**
 * Fit each feature's encoding on the training rows `train`. A numeric feature with
 * `bounds` is clamped to them and scaled by them alone (centre and half-width), never by
 * its rows: that encoding reveals nothing about the data, which DP-SGD needs.
 */
export function fitEncoder(
  features: readonly DataColumn[],
  train: readonly number[],
  maxCategories: number,
  step: string,
  minCount = 1,
  bounds: Readonly<Record<string, readonly [number, number]>> = {},
): FeatureEncoding[] {
  return features.map((c) => {
    const fixed = NUMERIC.has(c.type) ? bounds[c.name] : undefined;
    if (fixed) {
      const [lo, hi] = fixed;
      return { name: c.name, kind: 'numeric', mean: (lo + hi) / 2, std: (hi - lo) / 2 || 1, bounds: [lo, hi] };
    }
    if (NUMERIC.has(c.type)) {
      let n = 0;
      let sum = 0;
      let sq = 0;
      for (const i of train) {
        const x = toNumber(c.values[i]);
        if (x === undefined) continue;
        n++;
        sum += x;
        sq += x * x;
      }
      const mean = n ? sum / n : 0;
      const std = n ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : 0;
      return { name: c.name, kind: 'numeric', mean, std: std > 0 ? std : 1 };
    }
    if (c.type === 'bool') return { name: c.name, kind: 'bool' };
    if (c.type === 'string') {
      const seen = new Map<string, number>();
      for (const i of train) {
        const v = c.values[i];
        if (typeof v === 'string') seen.set(v, (seen.get(v) ?? 0) + 1);
        if (seen.size > maxCategories) {
          throw new ObscuraError('ml_vocabulary_too_large', `step ${step}: feature ${c.name} has more than ${maxCategories} distinct values; one-hot encoding it would single out rows (raise options.max_categories or drop it)`, 422, {
            step,
            column: c.name,
          });
        }
      }
      // A category fewer than minCount rows have is left out (encoded like an unseen value):
      // the vocabulary is released with the model and must not name rare values.
      return { name: c.name, kind: 'onehot', vocabulary: [...seen].filter(([, n]) => n >= minCount).map(([v]) => v).sort() };
    }
    throw new ObscuraError('ml_feature_type', `step ${step}: feature ${c.name} is ${c.type}; features must be numbers, booleans or strings`, 400, { step, column: c.name });
  });
}

/** Number of model inputs the encodings produce. */
export function encodedWidth(enc: readonly FeatureEncoding[]): number {
  return enc.reduce((w, e) => w + (e.kind === 'onehot' ? e.vocabulary.length : 1), 0);
}

/** The rows `idx` encoded as a row-major n × width matrix. */
export function encodeRows(enc: readonly FeatureEncoding[], features: readonly DataColumn[], idx: readonly number[]): Float32Array {
  const width = encodedWidth(enc);
  const out = new Float32Array(idx.length * width);
  let offset = 0;
  enc.forEach((e, f) => {
    const values = (features[f] as DataColumn).values;
    if (e.kind === 'onehot') {
      const at = new Map(e.vocabulary.map((v, k) => [v, k]));
      idx.forEach((i, r) => {
        const k = at.get(values[i] as string);
        if (k !== undefined) out[r * width + offset + k] = 1;
      });
      offset += e.vocabulary.length;
      return;
    }
    idx.forEach((i, r) => {
      const x = toNumber(values[i]);
      const v = x !== undefined && e.kind === 'numeric' && e.bounds ? Math.min(e.bounds[1], Math.max(e.bounds[0], x)) : x;
      out[r * width + offset] = e.kind === 'bool' ? (v ?? 0) : v === undefined ? 0 : (v - e.mean) / e.std;
    });
    offset += 1;
  });
  return out;
}

/** The label of rows `idx`: 0/1 for a classifier (refusing anything else), numbers for a regressor. */
export function encodeLabels(label: DataColumn, idx: readonly number[], task: 'classification' | 'regression', step: string): Float32Array {
  const out = new Float32Array(idx.length);
  idx.forEach((i, r) => {
    const x = toNumber(label.values[i]);
    const ok = x !== undefined && (task === 'regression' || x === 0 || x === 1);
    if (!ok) {
      const why = task === 'classification' ? 'must be a boolean or 0/1 for a classifier' : 'must be a number for a regressor';
      throw new ObscuraError('ml_label_invalid', `step ${step}: label ${label.name} ${why}, and a row has ${x === undefined ? 'no value' : 'another value'}`, 422, {
        step,
        column: label.name,
      });
    }
    out[r] = x;
  });
  return out;
}
