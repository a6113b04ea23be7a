/**
 * Aggregating a dataset larger than memory: its rows arrive in chunks (each a parsed
 * dataset of whole rows), each chunk's partial aggregates are computed in a clean DuckDB
 * and merged into a running total, and the chunk is dropped; min_group_size and DP apply
 * once, to the merged total (finalize.ts). Only one chunk's rows and the per-group states
 * are in memory at a time, and nothing is written to disk (the enclave's DuckDB cannot
 * spill: duckdb.ts). Exact for every pipeline planPartials accepts over a single input:
 * filters and derives are row by row, so chunking does not change which rows reach the
 * aggregate. Joins are not streamed (which rows meet depends on rows in other chunks).
 */
import type { DatasetSchema, ParsedDataset } from '../../data/index.ts';
import { pipelineError } from '../errors.ts';
import type { PipelineOutputs, RunOptions } from '../run.ts';
import { runPipeline } from '../run.ts';
import type { PipelineDocument } from '../schema.ts';
import { partialsFromRaw } from './compute.ts';
import { finalizePartial } from './finalize.ts';
import { mergePartials } from './merge.ts';
import { planPartials, type PartialPlan } from './plan.ts';
import type { PartialAggregate } from './schema.ts';

/**
 * Plan a streamed run of `doc` over its single input of `schema`, or throw
 * 'pipeline_partial_unsupported' saying why it cannot stream (more than one input, a join,
 * or an output planPartials refuses).
 */
export function planStreaming(doc: PipelineDocument, schema: DatasetSchema): PartialPlan {
  const names = Object.keys(doc.inputs);
  if (names.length !== 1)
    throw pipelineError(
      'pipeline_partial_unsupported',
      'only a pipeline over one input can stream its rows',
      {
        inputs: names.length,
      },
    );
  const join = doc.steps.find((s) => s.join);
  if (join)
    throw pipelineError(
      'pipeline_partial_unsupported',
      `step ${join.id} is a join: which rows meet depends on rows in other chunks, so a join needs its inputs in memory`,
      { step: join.id },
    );
  return planPartials(doc, { [names[0] as string]: schema });
}

/**
 * Run an aggregate-only pipeline over its one input, whose rows come as `chunks`; returns
 * the released outputs, as runPipeline would release them from all the rows at once.
 * Throws what planStreaming and runPipeline throw; checks the guard between chunks.
 */
export async function runStreaming(
  doc: PipelineDocument,
  schema: DatasetSchema,
  chunks: AsyncIterable<ParsedDataset>,
  opts: Pick<RunOptions, 'memoryLimit' | 'guard' | 'threads' | 'onProgress'> = {},
): Promise<PipelineOutputs> {
  const plan = planStreaming(doc, schema);
  const input = Object.keys(doc.inputs)[0] as string;
  let total: Record<string, PartialAggregate> | undefined;
  let n = 0;
  for await (const chunk of chunks) {
    opts.guard?.check();
    const { onProgress: _p, ...run } = opts;
    const raw = await runPipeline(plan.doc, { [input]: chunk }, { ...run, privacy: false, raw: true });
    const parts = partialsFromRaw(plan, raw);
    total = total
      ? Object.fromEntries(
          Object.entries(parts).map(([step, p]) => [
            step,
            mergePartials([total?.[step] as PartialAggregate, p]),
          ]),
        )
      : parts;
    // The chunk count follows the plaintext size, which the manifest states: no row count leaks.
    opts.onProgress?.(0, `aggregated chunk ${++n}`);
  }
  if (!total) throw pipelineError('pipeline_partial_unsupported', 'no chunks of rows to aggregate');
  const outputs: PipelineOutputs = {};
  for (const [step, p] of Object.entries(total)) outputs[step] = finalizePartial(p);
  return outputs;
}
