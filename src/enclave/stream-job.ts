/**
 * Jobs over a dataset larger than the enclave's memory. A job over one CSV input whose
 * plaintext is large beside the memory limit (stream-input.ts) runs streamed when its
 * pipeline can: filters, derives and aggregates whose measures merge (partials/), the rows
 * read a chunk at a time and never whole. Any other pipeline — a join, training, a
 * count_distinct, several inputs — needs its inputs in memory, so their decrypted columns
 * must fit their share of the memory limit per job (job-memory.ts): beyond it the job is
 * refused before anything is read or spent, naming the sizes (public, from the manifests)
 * and the step that needs them.
 */
import { Table } from 'apache-arrow';
import { isObscuraError } from '../common/errors.ts';
import { manifestHash } from '../crypto/manifest.ts';
import type { JobSpec } from '../contracts/enclave-protocol.ts';
import { checkPipeline, type PipelineDocument, type PipelineOutputs } from '../pipelines/index.ts';
import type { JobGuard } from '../pipelines/limits.ts';
import { jobDuckdbMemory } from '../pipelines/limits.ts';
import { planStreaming, runStreaming } from '../pipelines/partials/stream.ts';
import { afterData } from './data-condition.ts';
import { assertInputsFit } from './job-memory.ts';
import type { OpenContext, OpenedDataset } from './datasets.ts';
import { streamChunkBytes, streamSealedCsv, streamsInput } from './stream-input.ts';
import { openStorePieces } from './store/open.ts';

/**
 * How a job reads its inputs: 'stream' or 'memory'. Throws 'job_input_too_large' (413)
 * when they must be in memory and cannot fit their share of the memory limit per job
 * (job-memory.ts). `doc` is the document as it will run (limits applied).
 */
export function inputMode(job: JobSpec, doc: PipelineDocument, memoryBytes: number): 'stream' | 'memory' {
  let why = job.inputs.length > 1 ? 'it reads more than one input' : 'its input is not CSV';
  const only = job.inputs[0];
  if (job.inputs.length === 1 && only && streamsInput(only.manifest.manifest, memoryBytes)) {
    try {
      planStreaming(doc, only.manifest.manifest.schema);
      return 'stream';
    } catch (e) {
      if (!isObscuraError(e, 'pipeline_partial_unsupported')) throw e;
      why = e.message;
    }
  }
  assertInputsFit(job, doc, memoryBytes, why);
  return 'memory';
}

/**
 * Run a job's pipeline over its one input streamed in chunks. `onOpened` is told before
 * the first row is read (from then on failures are data-free); the opened dataset's row
 * count is the manifest's, which the stream checks before it ends.
 */
export async function streamAndRun(
  job: JobSpec,
  ctx: OpenContext & { limits: { memoryBytes: number } },
  doc: PipelineDocument,
  onOpened: (opened: OpenedDataset[]) => void,
  progress: (fraction: number, message: string) => void,
  guard?: JobGuard,
): Promise<{ opened: OpenedDataset[]; outputs: PipelineOutputs }> {
  const input = job.inputs[0] as JobSpec['inputs'][number];
  const { manifest } = input.manifest;
  const opened: OpenedDataset = {
    datasetId: input.datasetId,
    manifest: input.manifest,
    manifestHash: manifestHash(manifest),
    // No table: the rows are read in chunks by the run below.
    data: { table: new Table(), schema: manifest.schema, rows: manifest.rows },
  };
  // From the store when the dataset has one (only the columns read, no CSV parse), in pieces
  // of about a sixteenth of the memory limit in the CSV's bytes per row (a piece holds only
  // the decrypted columns read, at most as many bytes as those rows' CSV).
  const columns = checkPipeline(doc, { [input.name]: manifest.schema }).inputs[0]?.columnsRead ?? [];
  const bytesPerRow = Math.max(1, manifest.plaintext.bytes / Math.max(1, manifest.rows));
  const stored = await openStorePieces(
    input,
    ctx,
    columns,
    Math.max(1, Math.floor(ctx.limits.memoryBytes / 16 / bytesPerRow)),
  );
  onOpened([opened]);
  progress(0.1, `streaming input ${input.name}`);
  const outputs = await afterData(() =>
    runStreaming(
      doc,
      manifest.schema,
      stored ?? streamSealedCsv(input, ctx, streamChunkBytes(ctx.limits.memoryBytes)),
      {
        memoryLimit: jobDuckdbMemory(ctx.limits.memoryBytes),
        ...(guard ? { guard } : {}),
      },
    ),
  );
  return { opened: [opened], outputs };
}
