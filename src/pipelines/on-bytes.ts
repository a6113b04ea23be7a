/**
 * The enclave path in one call, for the worker and the benchmark: plaintext bytes of a
 * single dataset → parsed table → pipeline outputs. The caller owns the bytes and may
 * wipe them once this returns (the parsed table never aliases them).
 */
import { type DatasetFormat, parseDataset } from '../data/index.ts';
import { pipelineError } from './errors.ts';
import { type PipelineOutputs, type RunOptions, runPipeline } from './run.ts';
import type { PipelineDocument } from './schema.ts';

/**
 * Parse `bytes` as `format` and run `doc`, which must declare exactly one input. Throws
 * 'pipeline_unknown_input' when it declares another number, and what parseDataset and
 * runPipeline throw.
 */
export async function runPipelineOnBytes(
  bytes: Uint8Array,
  format: DatasetFormat,
  doc: PipelineDocument,
  opts: RunOptions = {},
): Promise<PipelineOutputs> {
  const names = Object.keys(doc.inputs);
  if (names.length !== 1) {
    throw pipelineError(
      'pipeline_unknown_input',
      `runPipelineOnBytes needs a pipeline with one input; this one declares ${names.length}`,
      {
        inputs: names,
      },
    );
  }
  const parsed = await parseDataset(bytes, format);
  return runPipeline(doc, { [names[0] as string]: parsed }, opts);
}
