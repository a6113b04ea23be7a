/**
 * Computing partial aggregates: run the pipeline (plan.ts's rewrite of it) over one chunk
 * of rows or one node's datasets in the enclave's DuckDB, reading every group exact and
 * whole with the counts of rows behind it — nothing is suppressed or noised here; that
 * happens once, after the merge (finalize.ts).
 */
import type { DatasetSchema, ParsedDataset } from '../../data/index.ts';
import type { OutputValue } from '../results.ts';
import { type PipelineOutput, type RunOptions, runPipeline } from '../run.ts';
import type { PipelineDocument } from '../schema.ts';
import { type PartialPlan, planPartials } from './plan.ts';
import { PARTIAL_VERSION, type MeasureState, type PartialAggregate, type PartialGroup } from './schema.ts';

/** Options of computePartials: the runner's (guard, memory limit, progress) and whether DP applies. */
export type PartialRunOptions = Pick<
  RunOptions,
  'onProgress' | 'threads' | 'memoryLimit' | 'guard' | 'privacy'
>;

/**
 * The partial aggregate of every output of `doc` over `inputs` (parsed datasets bound to
 * its inputs by name), by output step id. Throws what runPipeline throws, and
 * 'pipeline_partial_unsupported' for an output that cannot be merged (plan.ts).
 */
export async function computePartials(
  doc: PipelineDocument,
  inputs: Record<string, ParsedDataset>,
  opts: PartialRunOptions = {},
): Promise<Record<string, PartialAggregate>> {
  const schemas: Record<string, DatasetSchema> = {};
  for (const [name, d] of Object.entries(inputs)) schemas[name] = d.schema;
  const plan = planPartials(doc, schemas, { privacy: opts.privacy !== false });
  const raw = await runPipeline(plan.doc, inputs, { ...opts, privacy: false, raw: true });
  return partialsFromRaw(plan, raw);
}

/** Turn the raw outputs of a planned partial run into partial aggregates. */
export function partialsFromRaw(
  plan: PartialPlan,
  raw: Record<string, PipelineOutput>,
): Record<string, PartialAggregate> {
  const result: Record<string, PartialAggregate> = {};
  for (const { spec, parts, minGroupSize } of plan.outputs) {
    const out = raw[spec.step] as PipelineOutput;
    const at = new Map(out.columns.map((c, i) => [c.name, i]));
    const behind = out.behind ?? { rows: [], cells: {} };
    const groups = out.rows.map((row, g): PartialGroup => {
      const cell = (name: string | undefined) => row[at.get(name as string) as number] ?? null;
      const states = spec.measures.map((m, j): MeasureState => {
        const p = parts[j] as Record<string, string>;
        const n = Number(cell(p.n) ?? 0);
        switch (m.kind) {
          case 'count':
            return { n };
          case 'sum':
          case 'mean':
            return { n, sum: exactSum(cell(p.sum)) };
          case 'variance':
          case 'stddev': {
            const variance = Number(cell(p.var) ?? 0);
            return { n, mean: Number(cell(p.mean) ?? 0), m2: n > 1 ? Math.max(0, variance * (n - 1)) : 0 };
          }
          case 'min':
          case 'max':
            return { v: cell(p.v) };
          default: // histogram, quantile
            return { counts: histogramCounts(cell(p.v)) };
        }
      });
      const cells = spec.cells.map((measure) => {
        const j = spec.measures.findIndex((m) => m.name === measure);
        const name = (parts[j] as Record<string, string>).v as string;
        return behind.cells[name]?.[g] ?? [];
      });
      return { key: spec.groupBy.map((k) => cell(k)), rows: behind.rows[g] ?? [], states, cells };
    });
    result[spec.step] = { obscura_partial: PARTIAL_VERSION, spec, minGroupSize, groups };
  }
  return result;
}

function exactSum(v: OutputValue): number | string {
  if (typeof v === 'number' || typeof v === 'string') return v;
  return 0;
}

function histogramCounts(v: OutputValue): number[] {
  return typeof v === 'string' ? (JSON.parse(v) as number[]) : [];
}
