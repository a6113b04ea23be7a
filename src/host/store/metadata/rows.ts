/**
 * How the metadata tables' rows become records, and the SQL fragments more than one concept's
 * queries share. JSON columns are parsed back through their schemas, so a corrupted row fails
 * loudly.
 */
import { z } from 'zod';
import type { DatasetRecord, JobRecord, JobStatus } from '../../../contracts/api-records.ts';
import { SignedManifestSchema } from '../../../crypto/manifest.ts';
import { SignedJobRequestSchema } from '../../../privacy/job-request.ts';

/** A dataset's row as its queries select it. */
export interface DatasetRow {
  id: string;
  manifest_json: string;
  created_at: string;
}

/** A job's row as JOB_SELECT reads it (the jobs table and its pipeline's name). */
export interface JobRow {
  id: string;
  analyst: string;
  pipeline_hash: string;
  pipeline_name: string;
  inputs_json: string;
  worker_id: string;
  status: JobStatus;
  progress: number;
  message: string;
  error_code: string | null;
  error_message: string | null;
  result_id: string | null;
  created_at: string;
  updated_at: string;
  purpose: string;
  awaiting_approval: number;
  anchoring: number;
  request_json: string | null;
}

const InputsSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

/** The record of a dataset's row, read from its signed manifest. */
export function datasetFromRow(row: DatasetRow): DatasetRecord {
  const signed = SignedManifestSchema.parse(JSON.parse(row.manifest_json));
  const m = signed.manifest;
  return {
    id: row.id,
    name: m.name,
    owner: m.owner,
    worker: m.worker.id,
    format: m.format,
    rows: m.rows,
    schema: m.schema,
    ciphertext: m.ciphertext,
    analysts: m.analysts,
    createdAt: row.created_at,
    manifest: signed,
  };
}

/** The record of a job's row, with the statuses its flags stand for (see storedStatus). */
export function jobFromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    analyst: row.analyst,
    pipeline: { hash: row.pipeline_hash, name: row.pipeline_name },
    inputs: InputsSchema.parse(JSON.parse(row.inputs_json)),
    worker: row.worker_id,
    status:
      row.status === 'queued' && row.awaiting_approval
        ? 'awaiting_approval'
        : row.status === 'running' && row.anchoring
          ? 'anchoring'
          : row.status,
    ...(row.purpose ? { purpose: row.purpose } : {}),
    ...(row.request_json ? { request: SignedJobRequestSchema.parse(JSON.parse(row.request_json)) } : {}),
    progress: row.progress,
    message: row.message,
    ...(row.error_code ? { error: { code: row.error_code, message: row.error_message ?? '' } } : {}),
    ...(row.result_id ? { result: row.result_id } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * 'awaiting_approval' is stored as 'queued' with the awaiting_approval flag, 'anchoring' as
 * 'running' with the anchoring flag (see migrations.ts).
 */
export function storedStatus(status: JobStatus): Exclude<JobStatus, 'awaiting_approval' | 'anchoring'> {
  if (status === 'awaiting_approval') return 'queued';
  return status === 'anchoring' ? 'running' : status;
}

/** Jobs (alias j) with their pipeline's name, as JobRow. */
export const JOB_SELECT = `SELECT j.*, p.name AS pipeline_name FROM jobs j JOIN pipelines p ON p.hash = j.pipeline_hash`;

/**
 * Jobs (alias j) that account @account may be able to read: it submitted them, owns one of
 * their inputs, or their pipeline asks to be public. A superset of what it may read; the
 * access rules (src/host/api/access.ts) decide exactly on each row a list reads.
 */
export const MAY_READ_JOB = `(j.analyst = @account
  OR EXISTS (SELECT 1 FROM json_tree(j.inputs_json) t JOIN datasets d ON d.id = t.atom
             WHERE t.type = 'text' AND d.owner = @account)
  OR j.pipeline_hash IN (SELECT hash FROM pipelines WHERE json_extract(document, '$.visibility') = 'public'))`;

/**
 * The rows of `table` (alias `alias`, key column `key`) that come after the row @after in
 * list order (created_at newest first, then key): every row when @after is null. The lists
 * page with it, so a page is found by its last row's key, whatever was added meanwhile.
 */
export function afterInListOrder(table: string, alias: string, key: string): string {
  return `(@after IS NULL
                OR ${alias}.created_at < (SELECT created_at FROM ${table} WHERE ${key} = @after)
                OR (${alias}.created_at = (SELECT created_at FROM ${table} WHERE ${key} = @after) AND ${alias}.${key} > @after))`;
}
