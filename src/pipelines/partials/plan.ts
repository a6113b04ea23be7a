/**
 * Planning partial aggregates: which exact measures each aggregate output keeps (for a DP
 * output, those of its DP rewrite, planDp), and the document that computes their parts
 * with the ordinary aggregate step — so clamping, booleans and nulls mean exactly what
 * they mean in a local run:
 *
 * | measure | parts computed per chunk | merge |
 * | --- | --- | --- |
 * | count | count | add |
 * | sum, mean | count, sum | add (integer sums as big integers) |
 * | variance, stddev | count, mean, variance | Chan, Golub and LeVeque's pairwise update |
 * | min, max | min, max | least / greatest |
 * | histogram | histogram | add bin by bin |
 * | quantile | histogram of QUANTILE_PARTIAL_BINS bins over its bounds | add bin by bin |
 *
 * A quantile is read from the merged histogram by linear interpolation within the bin
 * where the q·n-th value falls: the estimate is within one bin width, (high − low) /
 * QUANTILE_PARTIAL_BINS, of that value — so a quantile needs bounds to be merged.
 * count_distinct has no exact merge short of carrying every distinct value: refused, as
 * are outputs that are not aggregates and aggregates another step reads.
 */
import type { ColumnType } from '../../data/index.ts';
import { checkPipeline } from '../check.ts';
import { type DpOutputPlan, planDp } from '../dp.ts';
import { formatPath, pipelineError } from '../errors.ts';
import { pipelineHash } from '../hash.ts';
import { type Measure, measureKind, type PipelineDocument, stepKind } from '../schema.ts';
import type { DatasetSchema } from '../../data/index.ts';
import type { PartialMeasure, PartialSpec } from './schema.ts';

/** Bins of the histogram a quantile is merged through. */
export const QUANTILE_PARTIAL_BINS = 1024;

/** For each measure of a spec, the names of its parts in the document that computes them. */
export type PartNames = Record<string, string>[];

/** A planned partial run: the document to run and, per output, its spec and part names. */
export interface PartialPlan {
  doc: PipelineDocument;
  outputs: { spec: PartialSpec; parts: PartNames; minGroupSize: number }[];
}

function unsupported(message: string, details: Record<string, unknown>): never {
  throw pipelineError('pipeline_partial_unsupported', message, details);
}

/**
 * Plan the partial aggregates of every output of `doc` over inputs of these schemas.
 * Throws what checkPipeline throws, and 'pipeline_partial_unsupported' naming the output
 * or measure that cannot be merged. `privacy: false` plans exact outputs (no DP).
 */
export function planPartials(
  doc: PipelineDocument,
  schemas: Record<string, DatasetSchema>,
  opts: { privacy?: boolean } = {},
): PartialPlan {
  const released = checkPipeline(doc, schemas);
  const dp = opts.privacy === false ? { doc, outputs: [] as DpOutputPlan[] } : planDp(doc);
  const exact = checkPipeline(dp.doc, schemas);
  const hash = pipelineHash(doc);
  const outputs: PartialPlan['outputs'] = [];
  const steps = dp.doc.steps.map((step, index) => {
    const out = released.outputs.find((o) => o.step === step.id);
    if (!out) return step;
    const path = formatPath(['outputs', step.id]);
    if (!step.aggregate)
      unsupported(
        `output ${step.id}: only aggregate outputs merge as partials (this is a ${stepKind(step)} step)`,
        {
          step: step.id,
          path,
        },
      );
    const reader = doc.steps.find((s) =>
      [
        s.filter?.from,
        s.derive?.from,
        s.aggregate?.from,
        s.join?.left,
        s.join?.right,
        s.train?.from,
        s.evaluate?.from,
      ].includes(step.id),
    );
    if (reader)
      unsupported(
        `output ${step.id}: step ${reader.id} reads it, and an aggregate of an aggregate does not merge`,
        {
          step: step.id,
          ref: reader.id,
          path,
        },
      );
    // Nor one over another aggregate: the parts' groups overlap, so their counts would add.
    const below = aggregateBelow(doc, step.aggregate.from);
    if (below)
      unsupported(
        `output ${step.id}: it reads aggregate ${below}, and an aggregate of an aggregate does not merge`,
        {
          step: step.id,
          ref: below,
          path,
        },
      );
    const types = new Map(
      (exact.outputs.find((o) => o.step === step.id)?.columns ?? []).map((c) => [
        c.name,
        c.type as ColumnType,
      ]),
    );
    const taken = new Set([...(step.aggregate.group_by ?? [])].map((n) => n.toLowerCase()));
    const free = (base: string) => {
      let name = base;
      for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${base}${i}`;
      taken.add(name.toLowerCase());
      return name;
    };
    const measures: PartialMeasure[] = [];
    const parts: PartNames = [];
    const rawMeasures: Record<string, Measure> = {};
    Object.entries(step.aggregate.measures).forEach(([name, m], j) => {
      const kind = measureKind(m);
      const column = m[kind] as string;
      const mpath = formatPath(['steps', index, 'aggregate', 'measures', name]);
      const part = (p: string, measure: Measure) => {
        const alias = free(`p${j}_${p}`);
        rawMeasures[alias] = measure;
        return alias;
      };
      const bounds = m.bounds ? { bounds: m.bounds } : {};
      const type = types.get(name) as ColumnType;
      switch (kind) {
        case 'count':
          parts.push({ n: part('n', m) });
          break;
        case 'sum':
        case 'mean': {
          const sum = part('sum', { sum: column, ...bounds });
          parts.push({ n: part('n', { count: column }), sum });
          break;
        }
        case 'variance':
        case 'stddev':
          parts.push({
            n: part('n', { count: column }),
            mean: part('mean', { mean: column, ...bounds }),
            var: part('var', { variance: column, ...bounds }),
          });
          break;
        case 'min':
        case 'max':
        case 'histogram':
          parts.push({ v: part('v', m) });
          break;
        case 'quantile': {
          if (!m.bounds)
            unsupported(
              `output ${step.id}: quantile ${name} needs bounds: [low, high] to be merged (it is kept as a histogram over them)`,
              {
                step: step.id,
                measure: name,
                path: `${mpath}.bounds`,
              },
            );
          const [lo, hi] = m.bounds;
          parts.push({
            n: part('n', { count: column }),
            v: part('h', {
              histogram: column,
              bins: QUANTILE_PARTIAL_BINS,
              bounds: [lo, hi > lo ? hi : lo + 1],
            }),
          });
          break;
        }
        default:
          unsupported(`output ${step.id}: measure ${name} (${kind}) has no exact merge`, {
            step: step.id,
            measure: name,
            path: mpath,
          });
      }
      const bins =
        kind === 'quantile' ? QUANTILE_PARTIAL_BINS : kind === 'histogram' ? histogramBins(m) : undefined;
      measures.push({
        name,
        kind: kind as PartialMeasure['kind'],
        type,
        // A sum of integers (with integer bounds) is int64 in the plan: it merges exactly as a big integer.
        ...(kind === 'sum' && type === 'int64' ? { integral: true } : {}),
        ...(bins !== undefined ? { bins } : {}),
        ...(m.bounds ? { bounds: m.bounds } : {}),
        ...(m.q !== undefined ? { q: m.q } : {}),
      });
    });
    const dpPlan = dp.outputs.find((o) => o.step === step.id);
    outputs.push({
      spec: {
        pipeline: hash,
        step: step.id,
        groupBy: step.aggregate.group_by ?? [],
        measures,
        columns: out.columns.map((c) => ({ name: c.name, type: c.type })),
        cells: out.cells.map((c) => c.measure),
        inputs: (exact.steps.find((s) => s.id === step.id)?.rowCounts ?? []).length,
        ...(dpPlan ? { dp: dpPlan } : {}),
      },
      parts,
      minGroupSize: out.minGroupSize,
    });
    return { ...step, aggregate: { ...step.aggregate, measures: rawMeasures } };
  });
  const outs = Object.fromEntries(
    Object.entries(dp.doc.outputs).map(([k, o]) => {
      const { dp: _dp, ...rest } = o;
      return [k, rest];
    }),
  );
  return { doc: { ...dp.doc, steps, outputs: outs }, outputs };
}

/** The first aggregate step `from` is or reads (through filters, derives and joins), if any. */
function aggregateBelow(doc: PipelineDocument, from: string): string | undefined {
  const step = doc.steps.find((s) => s.id === from);
  if (!step) return undefined;
  if (step.aggregate) return step.id;
  const sources = [step.filter?.from, step.derive?.from, step.join?.left, step.join?.right];
  for (const source of sources) {
    const found = source === undefined ? undefined : aggregateBelow(doc, source);
    if (found) return found;
  }
  return undefined;
}

function histogramBins(m: Measure): number {
  return typeof m.bins === 'number' ? m.bins : (m.bins as number[]).length - 1;
}
