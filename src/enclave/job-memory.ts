/**
 * One memory budget per job. The memory limit per job (`--job-memory`, pipelines/limits.ts)
 * covers what the enclave holds for the job: the decrypted columns of its inputs — Arrow,
 * in the enclave's own memory, outside DuckDB — at most three eighths of it (inputMemory),
 * and DuckDB's working memory and the warm cache's tables, under DuckDB's memory_limit, the
 * rest (jobDuckdbMemory). A job that must hold its inputs whole (a join, several inputs,
 * training: stream-job.ts) and whose inputs cannot fit their share is refused before it
 * spends or reads anything, naming each input, its size and the limit, and how to raise it.
 *
 * The sizes are bounds computed from the manifests alone — rows, schema, plaintext bytes:
 * signed by the owner, seen by the host — never from the data, so a refusal says nothing
 * about the rows, and the same job over the same datasets is refused or not whatever they
 * hold. The store's own sizes (its chunks' lengths) would be tighter for text, but they
 * depend on the values.
 */
import { ObscuraError } from '../common/errors.ts';
import type { JobSpec } from '../contracts/enclave-protocol.ts';
import type { Manifest } from '../crypto/manifest.ts';
import type { ColumnType } from '../data/index.ts';
import { FIXED_WIDTH } from '../data/schema.ts';
import { checkPipeline, type PipelineDocument } from '../pipelines/index.ts';
import { inputMemory } from '../pipelines/limits.ts';
import { STORE_CHUNK_ROWS } from './store/format.ts';

/** Bytes a row of a column of each type takes decrypted (Arrow), text without its characters. */
const WIDTH: Record<ColumnType, number> = {
  ...(FIXED_WIDTH as Record<ColumnType, number>),
  bool: 1,
  // Its offset; the characters are bounded below by the plaintext's bytes.
  string: 4,
};

/**
 * At most how many bytes the columns `columns` of a dataset take decrypted as Arrow, from
 * its manifest: each column's width per row plus a validity bit (and Arrow's padding per
 * stored chunk), and for text the characters, which in a CSV are at most the file's bytes
 * less one separator or line end per field. For a Parquet or Arrow file the characters are
 * counted as the file's bytes: compressed Parquet text can take more, so for those this is
 * an estimate, not a bound.
 */
export function decryptedBytes(manifest: Manifest, columns: readonly string[]): number {
  const read = manifest.schema.filter((c) => columns.includes(c.name));
  const fixed = read.reduce((n, c) => n + WIDTH[c.type as ColumnType] + 1 / 8, 0);
  const separators = manifest.format === 'csv' ? manifest.rows * manifest.schema.length : 0;
  const text = read.some((c) => c.type === 'string') ? Math.max(0, manifest.plaintext.bytes - separators) : 0;
  // Arrow pads each buffer (values, offsets, validity) of each stored chunk to 64 bytes.
  const padding = read.length * 3 * 64 * Math.ceil(manifest.rows / STORE_CHUNK_ROWS);
  return Math.ceil(manifest.rows * fixed + text + padding);
}

/** One input's share of a job's memory: its name in the pipeline, its dataset and its bound. */
export interface InputMemory {
  name: string;
  dataset: string;
  bytes: number;
}

/** The decrypted bytes each input of a job holds when read whole (the columns `doc` reads of it). */
export function inputsMemory(job: JobSpec, doc: PipelineDocument): InputMemory[] {
  const reads = checkPipeline(
    doc,
    Object.fromEntries(job.inputs.map((i) => [i.name, i.manifest.manifest.schema])),
  ).inputs;
  return job.inputs.map((i) => ({
    name: i.name,
    dataset: i.datasetId,
    bytes: decryptedBytes(i.manifest.manifest, reads.find((r) => r.name === i.name)?.columnsRead ?? []),
  }));
}

/**
 * Throw 'job_input_too_large' (413) when a job that holds its inputs whole (`why` it cannot
 * stream them) needs more for them than their share of the memory limit per job. The
 * message names each input with its bound, the share and the limit, and the limit that
 * would do; never a value or a count beyond the manifests'.
 */
export function assertInputsFit(job: JobSpec, doc: PipelineDocument, memoryBytes: number, why: string): void {
  const inputs = inputsMemory(job, doc);
  const bytes = inputs.reduce((n, i) => n + i.bytes, 0);
  const share = inputMemory(memoryBytes);
  if (bytes <= share) return;
  // The smallest limit whose share holds them, in whole MiB.
  const MIB = 1024 * 1024;
  const needed = Math.ceil(Math.ceil((bytes * 8) / 3) / MIB) * MIB;
  const each = inputs.map((i) => `${i.name} (dataset ${i.dataset}): ${i.bytes} bytes`).join(', ');
  throw new ObscuraError(
    'job_input_too_large',
    `job ${job.id}: its inputs take up to ${bytes} bytes decrypted (${each}, bounds from the manifests), more than the ${share} bytes inputs may hold within the enclave's memory limit per job of ${memoryBytes} bytes (three eighths; DuckDB works in the rest), and it cannot stream them: ${why}. Only filters, derives and mergeable aggregates over one CSV input run on data larger than memory; the operator can raise the limit to ${needed} bytes or more (obscura serve --job-memory, or OBSCURA_JOB_MEMORY)`,
    413,
    { bytes, inputBytes: share, memoryBytes, neededMemoryBytes: needed, inputs },
  );
}
