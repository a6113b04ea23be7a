/**
 * Differential privacy for pipeline outputs (`outputs.<step>.dp`): which outputs can be
 * made DP, how they are computed, and how their exact aggregates become noisy releases.
 *
 * Neighbouring datasets differ by one row of one input (add/remove). An output can be made
 * DP when it is an aggregate computed from its inputs through filters, derives and inner
 * joins with `unique: true` (keys that repeat on a side are dropped, so a row meets at most
 * one row): then one input row changes at most one row behind the aggregate, so each count
 * by at most 1, each bounded sum by at most max(|low|, |high|), one histogram bin by 1.
 * Other joins (a row may meet any number of rows) and aggregates of aggregates are
 * refused, as are measures with no bounded sensitivity (min, max, count_distinct,
 * stddev, variance). The group count that selects groups is the hidden count of rows of
 * the first input behind each group (with unique joins, that is the group's row count).
 *
 * The output's epsilon is split evenly over its noisy queries (basic composition): one per
 * count, sum, histogram and quantile, two per mean (a noisy sum over a noisy count), and
 * one for the noisy group count that decides which groups are released. With group_by,
 * a group is released only when its noisy count reaches the larger of min_group_size and
 * a threshold at which a group one row creates shows with probability at most δ (so
 * group_by needs delta > 0; with the Gaussian mechanism, half of delta goes to the
 * threshold). A quantile is read from a 128-bin noisy histogram over its bounds. Groups
 * that are not released are not counted: their number would leak.
 */
import { type NoiseSpec, noisy, selectionThreshold } from '../privacy/dp/index.ts';
import { formatPath, pipelineError } from './errors.ts';
import type { OutputValue } from './results.ts';
import { type Measure, measureKind, type PipelineDocument, type Step, stepKind } from './schema.ts';

/** Bins of the noisy histogram a DP quantile is read from. */
export const QUANTILE_BINS = 128;

type DpKind = 'count' | 'sum' | 'mean' | 'histogram' | 'quantile';
const DP_KINDS: ReadonlySet<string> = new Set<DpKind>(['count', 'sum', 'mean', 'histogram', 'quantile']);

/** One measure of a DP output, and the exact measures (in the rewritten document) it is released from. */
interface DpMeasure {
  name: string;
  kind: DpKind;
  bounds?: [number, number];
  q?: number;
  /** For integer-valued sums: the column is an integer and the bounds are integers. */
  hidden: string[];
}

/** How one DP output is released. */
export interface DpOutputPlan {
  step: string;
  mechanism: 'laplace' | 'gaussian';
  epsilon: number;
  delta: number;
  groupBy: string[];
  measures: DpMeasure[];
}

/** What a released DP output says about its noise. */
export interface DpApplied {
  mechanism: 'laplace' | 'gaussian';
  epsilon: number;
  delta: number;
  /** The noisy count a group needed to be released. */
  threshold: number;
}

function aggregateOf(
  doc: PipelineDocument,
  id: string,
): Step & { aggregate: NonNullable<Step['aggregate']> } {
  return doc.steps.find((s) => s.id === id) as Step & { aggregate: NonNullable<Step['aggregate']> };
}

/**
 * Throw 'pipeline_dp_unsupported' (400) naming the output and what stops it from being
 * made DP, for each output with `dp`. Called by the checker, so host and enclave refuse alike.
 */
export function checkDpOutputs(doc: PipelineDocument): void {
  const byId = new Map(doc.steps.map((s) => [s.id, s]));
  for (const [name, out] of Object.entries(doc.outputs)) {
    if (!out.dp) continue;
    const path = formatPath(['outputs', name, 'dp']);
    const refuse = (why: string, extra: Record<string, unknown> = {}) => {
      throw pipelineError('pipeline_dp_unsupported', `output ${name}: ${why}`, {
        step: name,
        path,
        ...extra,
      });
    };
    const step = byId.get(name) as Step;
    const mechanism = out.dp.mechanism ?? 'laplace';
    const delta = out.dp.delta ?? 0;
    if (step.train) {
      // DP-SGD (src/ml/dpsgd.ts): Gaussian noise on clipped gradients, accounted in RDP.
      if (!(delta > 0)) refuse('DP-SGD needs dp.delta > 0');
      if (step.train.model === 'mlp')
        refuse('DP-SGD supports linear_regression and logistic_regression in this release');
      if (out.dp.mechanism === 'laplace')
        refuse('DP-SGD adds Gaussian noise; leave out dp.mechanism or say gaussian');
      continue;
    }
    if (stepKind(step) !== 'aggregate')
      refuse(
        `differential privacy applies to aggregate and train outputs (this is a ${stepKind(step)} step)`,
      );
    if (mechanism === 'gaussian' && !(delta > 0)) refuse('the Gaussian mechanism needs dp.delta > 0');
    const agg = (step as ReturnType<typeof aggregateOf>).aggregate;
    if ((agg.group_by ?? []).length > 0 && !(delta > 0)) {
      refuse(
        'with group_by, dp.delta > 0 is needed: which groups exist is itself private, and releasing them is (epsilon, delta)-DP',
      );
    }
    // Every row behind the aggregate must come from at most one row of each input.
    const pending = [agg.from];
    for (let from = pending.pop(); from !== undefined; from = pending.pop()) {
      const s = byId.get(from);
      if (!s) continue;
      const kind = stepKind(s);
      if (kind === 'filter') pending.push((s.filter as NonNullable<Step['filter']>).from);
      else if (kind === 'derive') pending.push((s.derive as NonNullable<Step['derive']>).from);
      else if (kind === 'join') {
        const join = s.join as NonNullable<Step['join']>;
        if ((join.how ?? 'inner') !== 'inner' || join.unique !== true) {
          refuse(
            `join ${s.id} behind it must be an inner join with unique: true (each row then meets at most one row, which bounds what one row can change)`,
            {
              ref: s.id,
            },
          );
        }
        pending.push(join.left, join.right);
      } else
        refuse(
          `it is computed from a ${kind} step (${s.id}); DP outputs aggregate inputs through filters, derives and unique inner joins only`,
          { ref: s.id },
        );
    }
    for (const [m, measure] of Object.entries(agg.measures)) {
      const kind = measureKind(measure);
      const mpath = formatPath(['steps', doc.steps.indexOf(step), 'aggregate', 'measures', m]);
      if (!DP_KINDS.has(kind)) {
        throw pipelineError(
          'pipeline_dp_unsupported',
          `output ${name}: measure ${m} (${kind}) has no bounded sensitivity, so it cannot be made differentially private`,
          {
            step: name,
            measure: m,
            path: mpath,
          },
        );
      }
      if ((kind === 'sum' || kind === 'mean' || kind === 'quantile') && !measure.bounds) {
        throw pipelineError(
          'pipeline_dp_bounds_required',
          `output ${name}: measure ${m} (${kind}) needs bounds: [low, high] under differential privacy`,
          {
            step: name,
            measure: m,
            path: `${mpath}.bounds`,
          },
        );
      }
    }
    for (const other of doc.steps) {
      const reads = [
        other.filter?.from,
        other.derive?.from,
        other.aggregate?.from,
        other.join?.left,
        other.join?.right,
        other.train?.from,
        other.evaluate?.from,
      ];
      if (reads.includes(name))
        refuse(`step ${other.id} reads it; a DP output must be read by no other step`, { ref: other.id });
    }
  }
}

function freeName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${base}${i}`;
  taken.add(name.toLowerCase());
  return name;
}

/**
 * The document to run for exact aggregates behind the DP outputs (means become a sum and a
 * count, quantiles a fine histogram), and how to release each DP output from them. The
 * document's hash is never taken from this rewrite: results name the analyst's pipeline.
 */
export function planDp(doc: PipelineDocument): { doc: PipelineDocument; outputs: DpOutputPlan[] } {
  const plans: DpOutputPlan[] = [];
  const steps = doc.steps.map((step) => {
    const out = doc.outputs[step.id];
    if (!out?.dp || !step.aggregate) return step;
    const agg = step.aggregate;
    const taken = new Set(
      [...(agg.group_by ?? []), ...Object.keys(agg.measures)].map((n) => n.toLowerCase()),
    );
    const measures: Record<string, Measure> = {};
    const dpMeasures: DpMeasure[] = [];
    for (const [name, m] of Object.entries(agg.measures)) {
      const kind = measureKind(m) as DpKind;
      const bounds =
        m.bounds ??
        (Array.isArray(m.bins) ? ([m.bins[0], m.bins[m.bins.length - 1]] as [number, number]) : undefined);
      if (kind === 'mean') {
        const column = m.mean as string;
        const sum = freeName(`${name}_dp_sum`, taken);
        const n = freeName(`${name}_dp_n`, taken);
        measures[sum] = { sum: column, bounds: m.bounds as [number, number] };
        measures[n] = { count: column };
        dpMeasures.push({ name, kind, bounds: m.bounds as [number, number], hidden: [sum, n] });
      } else if (kind === 'quantile') {
        const h = freeName(`${name}_dp_hist`, taken);
        measures[h] = {
          histogram: m.quantile as string,
          bins: QUANTILE_BINS,
          bounds: m.bounds as [number, number],
        };
        dpMeasures.push({ name, kind, bounds: m.bounds as [number, number], q: m.q as number, hidden: [h] });
      } else {
        measures[name] = m;
        dpMeasures.push({ name, kind, ...(bounds ? { bounds } : {}), hidden: [name] });
      }
    }
    plans.push({
      step: step.id,
      mechanism: out.dp.mechanism ?? 'laplace',
      epsilon: out.dp.epsilon,
      delta: out.dp.delta ?? 0,
      groupBy: agg.group_by ?? [],
      measures: dpMeasures,
    });
    return { ...step, aggregate: { ...agg, measures } };
  });
  return { doc: { ...doc, steps }, outputs: plans };
}

/** An exact aggregate row by column name, with the number of input rows behind the group. */
export interface ExactGroup {
  values: Record<string, OutputValue>;
  rows: number;
}

/**
 * Release a DP output from its exact groups: noisy group selection, then each measure
 * noised with its share of epsilon. Returns the rows in `columns` order.
 */
export function releaseDp(
  plan: DpOutputPlan,
  groups: readonly ExactGroup[],
  columns: readonly { name: string; type: string }[],
  minGroupSize: number,
  noise: (value: number, sensitivity: number, integer: boolean, spec: NoiseSpec) => number = noisy,
): { rows: OutputValue[][]; dp: DpApplied } {
  const selecting = plan.groupBy.length > 0 || minGroupSize > 1;
  const queries = plan.measures.reduce((n, m) => n + (m.kind === 'mean' ? 2 : 1), 0) + (selecting ? 1 : 0);
  const thresholdDelta =
    plan.groupBy.length > 0 ? (plan.mechanism === 'gaussian' ? plan.delta / 2 : plan.delta) : 0;
  const mechanismDelta = plan.mechanism === 'gaussian' ? plan.delta - thresholdDelta : 0;
  const spec: NoiseSpec = {
    mechanism: plan.mechanism,
    epsilon: plan.epsilon / queries,
    delta: mechanismDelta / queries,
  };
  const threshold = Math.max(
    minGroupSize,
    plan.groupBy.length > 0 ? selectionThreshold(spec, thresholdDelta) : 0,
  );
  const rows: OutputValue[][] = [];
  for (const g of groups) {
    if (selecting && noise(g.rows, 1, true, spec) < threshold) continue;
    const released: Record<string, OutputValue> = {};
    for (const key of plan.groupBy) released[key] = g.values[key] ?? null;
    for (const m of plan.measures) released[m.name] = releaseMeasure(m, g, spec, noise);
    rows.push(columns.map((c) => released[c.name] ?? null));
  }
  return { rows, dp: { mechanism: plan.mechanism, epsilon: plan.epsilon, delta: plan.delta, threshold } };
}

function num(v: OutputValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return 0;
}

function releaseMeasure(m: DpMeasure, g: ExactGroup, spec: NoiseSpec, noise: typeof noisy): OutputValue {
  const [lo, hi] = m.bounds ?? [0, 0];
  const sens = Math.max(Math.abs(lo), Math.abs(hi));
  const value = (i = 0) => g.values[m.hidden[i] as string];
  switch (m.kind) {
    case 'count':
      return Math.max(0, noise(num(value()), 1, true, spec));
    case 'sum': {
      const integer = Number.isInteger(lo) && Number.isInteger(hi) && Number.isInteger(num(value()));
      return noise(num(value()), sens, integer, spec);
    }
    case 'mean': {
      const n = Math.max(1, noise(num(value(1)), 1, true, spec));
      const s = noise(num(value(0)), sens, false, spec);
      return Math.min(hi, Math.max(lo, s / n));
    }
    case 'histogram':
      return JSON.stringify(histogramCounts(value()).map((c) => Math.max(0, noise(c, 1, true, spec))));
    case 'quantile': {
      const counts = histogramCounts(value()).map((c) => Math.max(0, noise(c, 1, true, spec)));
      return quantileFromHistogram(counts, lo, hi, m.q ?? 0.5);
    }
  }
}

/** The bin counts of an exact histogram measure (JSON text of counts). */
function histogramCounts(v: OutputValue | undefined): number[] {
  if (typeof v !== 'string') return [];
  const parsed: unknown = JSON.parse(v);
  if (!Array.isArray(parsed)) return [];
  return parsed.map((x) =>
    typeof x === 'number'
      ? x
      : typeof x === 'object' && x !== null && 'count' in x
        ? Number((x as { count: unknown }).count)
        : 0,
  );
}

/** The q-quantile of values spread uniformly within equal bins over [lo, hi]. */
export function quantileFromHistogram(counts: readonly number[], lo: number, hi: number, q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0 || counts.length === 0) return (lo + hi) / 2;
  const width = (hi - lo) / counts.length;
  const target = q * total;
  let seen = 0;
  for (const [i, c] of counts.entries()) {
    if (c > 0 && seen + c >= target) return lo + width * (i + (target - seen) / c);
    seen += c;
  }
  return hi;
}
