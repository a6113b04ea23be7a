/**
 * Typed access to the metadata database: one method per question the host asks. JSON
 * columns are parsed back through their schemas, so a corrupted row fails loudly.
 */
import { ObscuraError } from '../../common/errors.ts';
import type { SignedManifest } from '../../crypto/manifest.ts';
import { type Db, writeCount } from './db.ts';
import {
  type DatasetRecord,
  type JobRecord,
  type JobStatus,
  type PendingResult,
  PendingResultSchema,
  type PipelineRecord,
  type ResultDocument,
  ResultDocumentSchema,
  type UpgradeAuthorization,
} from '../../contracts/api-records.ts';
import { AnchorReceiptSchema } from '../../chain/schemas.ts';
import { SignedUpgradeAuthorizationSchema } from '../../contracts/upgrade-authorization.ts';
import { SignedManifestSchema } from '../../crypto/manifest.ts';
import { type SignedJobRequest, SignedJobRequestSchema } from '../../privacy/job-request.ts';
import { z } from 'zod';

interface DatasetRow {
  id: string;
  manifest_json: string;
  created_at: string;
}
interface JobRow {
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

function datasetFromRow(row: DatasetRow): DatasetRecord {
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

function jobFromRow(row: JobRow): JobRecord {
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
 * 'running' with the anchoring flag (see db.ts).
 */
function storedStatus(status: JobStatus): Exclude<JobStatus, 'awaiting_approval' | 'anchoring'> {
  if (status === 'awaiting_approval') return 'queued';
  return status === 'anchoring' ? 'running' : status;
}

const JOB_SELECT = `SELECT j.*, p.name AS pipeline_name FROM jobs j JOIN pipelines p ON p.hash = j.pipeline_hash`;

/**
 * Jobs (alias j) that account @account may be able to read: it submitted them, owns one of
 * their inputs, or their pipeline asks to be public. A superset of what it may read; the
 * access rules (src/host/api/access.ts) decide exactly on each row a list reads.
 */
const MAY_READ_JOB = `(j.analyst = @account
  OR EXISTS (SELECT 1 FROM json_tree(j.inputs_json) t JOIN datasets d ON d.id = t.atom
             WHERE t.type = 'text' AND d.owner = @account)
  OR j.pipeline_hash IN (SELECT hash FROM pipelines WHERE json_extract(document, '$.visibility') = 'public'))`;

/** A result as a list reads it (Metadata.resultsAfter). */
export interface ResultListRow {
  id: string;
  /** The job the result's row names (what the access checks read). */
  job: string;
  /** The document, or undefined for an earlier version's form, which is not served. */
  document: ResultDocument | undefined;
}

/** The host's metadata, over an open database. */
export class Metadata {
  constructor(private readonly db: Db) {}

  /**
   * A value that changes whenever the database may have: a write through this connection
   * (every store of the host shares it) or a commit by any other connection. Lets a reader
   * keep what it derived from the stores until then (access.ts).
   */
  version(): string {
    const { data_version: v } = this.db.prepare('PRAGMA data_version').get() as { data_version: number };
    return `${writeCount(this.db)}:${v}`;
  }

  /** Record a dataset whose blob is already committed. */
  insertDataset(id: string, signed: SignedManifest, now = new Date()): DatasetRecord {
    const m = signed.manifest;
    this.db
      .prepare(
        `INSERT INTO datasets (id, name, owner, worker_id, format, rows, ciphertext_sha256, ciphertext_bytes, manifest_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        m.name,
        m.owner,
        m.worker.id,
        m.format,
        m.rows,
        m.ciphertext.sha256,
        m.ciphertext.bytes,
        JSON.stringify(signed),
        now.toISOString(),
      );
    return this.dataset(id);
  }

  /** The dataset with this id; throws 'dataset_not_found' (404). */
  dataset(id: string): DatasetRecord {
    const row = this.db.prepare('SELECT id, manifest_json, created_at FROM datasets WHERE id = ?').get(id) as
      | DatasetRow
      | undefined;
    if (!row) throw new ObscuraError('dataset_not_found', `no dataset with id ${id}`, 404);
    return datasetFromRow(row);
  }

  /** Whether a dataset with this id exists. */
  hasDataset(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(id) !== undefined;
  }

  /**
   * Up to `n` datasets, newest first, after the dataset `after`, of those `account` may be
   * able to read: it owns them, or their signed manifest names it or anyone ('*'). A superset
   * (the policy in force may name fewer: access.ts decides exactly on each), so that a list
   * request reads a page's worth of manifests instead of every one stored.
   */
  datasetsAfter(account: string | undefined, after: string | undefined, n: number): DatasetRecord[] {
    if (account === undefined) return [];
    const rows = this.db
      .prepare(
        `SELECT d.id, d.manifest_json, d.created_at FROM datasets d
         WHERE (@after IS NULL
                OR d.created_at < (SELECT created_at FROM datasets WHERE id = @after)
                OR (d.created_at = (SELECT created_at FROM datasets WHERE id = @after) AND d.id > @after))
           AND (d.owner = @account
                OR EXISTS (SELECT 1 FROM json_each(d.manifest_json, '$.manifest.analysts') a
                           WHERE a.value = '*' OR a.value = @account))
         ORDER BY d.created_at DESC, d.id
         LIMIT @n`,
      )
      .all({ account, after: after ?? null, n }) as DatasetRow[];
    return rows.map(datasetFromRow);
  }

  /** Whether any dataset's sealed file has this SHA-256 (its blob is still in use). */
  hasCiphertext(sha256: string): boolean {
    return this.db.prepare('SELECT 1 FROM datasets WHERE ciphertext_sha256 = ?').get(sha256) !== undefined;
  }

  /** All datasets, newest first. */
  datasets(): DatasetRecord[] {
    const rows = this.db
      .prepare('SELECT id, manifest_json, created_at FROM datasets ORDER BY created_at DESC, id')
      .all() as DatasetRow[];
    return rows.map(datasetFromRow);
  }

  /** Store a pipeline document under its hash (idempotent). */
  upsertPipeline(hash: string, name: string, document: unknown, now = new Date()): PipelineRecord {
    this.db
      .prepare(
        'INSERT INTO pipelines (hash, name, document, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
      )
      .run(hash, name, JSON.stringify(document), now.toISOString());
    return this.pipeline(hash);
  }

  /** Record that `account` stored the pipeline `hash` (it may read it back). */
  addPipelineAuthor(hash: string, account: string): void {
    this.db
      .prepare('INSERT OR IGNORE INTO pipeline_authors (hash, account) VALUES (?, ?)')
      .run(hash, account);
  }

  /** The accounts that stored the pipeline `hash`. */
  pipelineAuthors(hash: string): string[] {
    return (
      this.db.prepare('SELECT account FROM pipeline_authors WHERE hash = ?').all(hash) as {
        account: string;
      }[]
    ).map((r) => r.account);
  }

  /** Whether a pipeline with this hash is stored. */
  hasPipeline(hash: string): boolean {
    return this.db.prepare('SELECT 1 FROM pipelines WHERE hash = ?').get(hash) !== undefined;
  }

  /** The pipeline with this hash; throws 'pipeline_not_found' (404). */
  pipeline(hash: string): PipelineRecord {
    const row = this.db
      .prepare('SELECT hash, name, document, created_at FROM pipelines WHERE hash = ?')
      .get(hash) as { hash: string; name: string; document: string; created_at: string } | undefined;
    if (!row) throw new ObscuraError('pipeline_not_found', `no pipeline with hash ${hash}`, 404);
    return { hash: row.hash, name: row.name, document: JSON.parse(row.document), createdAt: row.created_at };
  }

  /** All pipelines, newest first. */
  pipelines(): PipelineRecord[] {
    const rows = this.db.prepare('SELECT hash FROM pipelines ORDER BY created_at DESC, hash').all() as {
      hash: string;
    }[];
    return rows.map((r) => this.pipeline(r.hash));
  }

  /**
   * Up to `n` pipelines, newest first, after the pipeline `after`, that `account` may be able
   * to read: it stored them, or may be able to read one of their jobs (MAY_READ_JOB). A
   * superset; the access rules (src/host/api/access.ts) decide exactly on each.
   */
  pipelinesAfter(account: string | undefined, after: string | undefined, n: number): PipelineRecord[] {
    if (account === undefined) return [];
    const rows = this.db
      .prepare(
        `SELECT p.hash FROM pipelines p
         WHERE (@after IS NULL
                OR p.created_at < (SELECT created_at FROM pipelines WHERE hash = @after)
                OR (p.created_at = (SELECT created_at FROM pipelines WHERE hash = @after) AND p.hash > @after))
           AND (EXISTS (SELECT 1 FROM pipeline_authors a WHERE a.hash = p.hash AND a.account = @account)
                OR EXISTS (SELECT 1 FROM jobs j WHERE j.pipeline_hash = p.hash AND ${MAY_READ_JOB}))
         ORDER BY p.created_at DESC, p.hash
         LIMIT @n`,
      )
      .all({ account, after: after ?? null, n }) as { hash: string }[];
    return rows.map((r) => this.pipeline(r.hash));
  }

  /** Queue a job. */
  insertJob(
    job: {
      id: string;
      analyst: string;
      pipelineHash: string;
      inputs: Record<string, string | string[]>;
      worker: string;
      purpose?: string;
      awaitingApproval?: boolean;
      request: SignedJobRequest;
    },
    now = new Date(),
  ): JobRecord {
    const t = now.toISOString();
    const message = job.awaitingApproval ? "waiting for the owners' approval" : 'queued';
    this.db
      .prepare(
        `INSERT INTO jobs (id, analyst, pipeline_hash, inputs_json, worker_id, status, progress, message, created_at, updated_at, purpose, awaiting_approval, request_json)
         VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        job.id,
        job.analyst,
        job.pipelineHash,
        JSON.stringify(job.inputs),
        job.worker,
        message,
        t,
        t,
        job.purpose ?? '',
        job.awaitingApproval ? 1 : 0,
        JSON.stringify(job.request),
      );
    return this.job(job.id);
  }

  /** Whether a job was submitted with the analyst's request of this nonce. */
  hasJobRequest(analyst: string, nonce: string): boolean {
    const row = this.db
      .prepare(`SELECT 1 FROM jobs WHERE analyst = ? AND json_extract(request_json, '$.request.nonce') = ?`)
      .get(analyst, nonce);
    return row !== undefined;
  }

  /** Jobs waiting for approvals, oldest first. */
  jobsAwaitingApproval(): JobRecord[] {
    return (
      this.db
        .prepare(
          `${JOB_SELECT} WHERE j.status = 'queued' AND j.awaiting_approval = 1 ORDER BY j.created_at, j.id`,
        )
        .all() as JobRow[]
    ).map(jobFromRow);
  }

  /** Release a job that was waiting for approvals to the queue. */
  releaseApprovedJob(id: string): void {
    this.db
      .prepare(
        `UPDATE jobs SET awaiting_approval = 0, message = 'queued', updated_at = ? WHERE id = ? AND awaiting_approval = 1`,
      )
      .run(new Date().toISOString(), id);
  }

  /** Sealed bytes stored for `owner`'s datasets. */
  storedBytes(owner: string): number {
    const row = this.db
      .prepare('SELECT COALESCE(SUM(ciphertext_bytes), 0) AS n FROM datasets WHERE owner = ?')
      .get(owner) as { n: number };
    return row.n;
  }

  /** Whether a job with this id exists. */
  hasJob(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM jobs WHERE id = ?').get(id) !== undefined;
  }

  /** Jobs that run the pipeline `hash`. */
  jobsOfPipeline(hash: string): JobRecord[] {
    return (
      this.db
        .prepare(`${JOB_SELECT} WHERE j.pipeline_hash = ? ORDER BY j.created_at DESC, j.id`)
        .all(hash) as JobRow[]
    ).map(jobFromRow);
  }

  /** The job with this id; throws 'job_not_found' (404). */
  job(id: string): JobRecord {
    const row = this.db.prepare(`${JOB_SELECT} WHERE j.id = ?`).get(id) as JobRow | undefined;
    if (!row) throw new ObscuraError('job_not_found', `no job with id ${id}`, 404);
    return jobFromRow(row);
  }

  /**
   * Up to `n` jobs, newest first, after the job `after`, of those `account` may be able to
   * read (see resultsAfter: the access rules decide exactly on each).
   */
  jobsAfter(account: string | undefined, after: string | undefined, n: number): JobRecord[] {
    const rows = this.db
      .prepare(
        `${JOB_SELECT}
         WHERE (@after IS NULL
                OR j.created_at < (SELECT created_at FROM jobs WHERE id = @after)
                OR (j.created_at = (SELECT created_at FROM jobs WHERE id = @after) AND j.id > @after))
           AND ${MAY_READ_JOB}
         ORDER BY j.created_at DESC, j.id
         LIMIT @n`,
      )
      .all({ account: account ?? null, after: after ?? null, n }) as JobRow[];
    return rows.map(jobFromRow);
  }

  /** All jobs, newest first. */
  jobs(): JobRecord[] {
    return (this.db.prepare(`${JOB_SELECT} ORDER BY j.created_at DESC, j.id`).all() as JobRow[]).map(
      jobFromRow,
    );
  }

  /**
   * Take a queued job to run: true if it was still queued (not cancelled meanwhile), and
   * now is running.
   */
  claimJob(id: string): boolean {
    return (
      this.db
        .prepare(
          `UPDATE jobs SET status = 'running', progress = 0, message = 'starting', updated_at = ? WHERE id = ? AND status = 'queued' AND awaiting_approval = 0`,
        )
        .run(new Date().toISOString(), id).changes === 1
    );
  }

  /**
   * End a job as cancelled by its analyst, if it has not ended: true if it was queued,
   * awaiting approval or running, and is now cancelled.
   */
  cancelJob(id: string): boolean {
    return (
      this.db
        .prepare(
          `UPDATE jobs SET status = 'cancelled', error_code = 'job_cancelled', error_message = 'the job was cancelled by its analyst', message = 'cancelled', awaiting_approval = 0, updated_at = ?
           WHERE id = ? AND status IN ('queued', 'running') AND id NOT IN (SELECT job_id FROM pending_results)`,
        )
        .run(new Date().toISOString(), id).changes === 1
    );
  }

  /** The oldest queued job, if any. */
  nextQueuedJob(): JobRecord | undefined {
    const row = this.db
      .prepare(
        `${JOB_SELECT} WHERE j.status = 'queued' AND j.awaiting_approval = 0 ORDER BY j.created_at, j.id LIMIT 1`,
      )
      .get() as JobRow | undefined;
    return row ? jobFromRow(row) : undefined;
  }

  /** Update a job's status and progress. */
  updateJob(id: string, update: { status?: JobStatus; progress?: number; message?: string }): void {
    const current = this.job(id);
    this.db
      .prepare('UPDATE jobs SET status = ?, progress = ?, message = ?, updated_at = ? WHERE id = ?')
      .run(
        storedStatus(update.status ?? current.status),
        update.progress ?? current.progress,
        update.message ?? current.message,
        new Date().toISOString(),
        id,
      );
  }

  /** Mark a job failed with a stable code and a data-free message (a result it kept unanchored goes). */
  failJob(id: string, code: string, message: string): void {
    this.db.prepare('DELETE FROM pending_results WHERE job_id = ?').run(id);
    this.db
      .prepare(
        `UPDATE jobs SET status = 'failed', error_code = ?, error_message = ?, message = 'failed', anchoring = 0, updated_at = ? WHERE id = ?`,
      )
      .run(code, message, new Date().toISOString(), id);
  }

  /**
   * Jobs left running by a host that stopped: they are failed, never silently re-run (the
   * enclave has used their signed requests, and a DP job has paid). A job whose result was
   * released and waits for its anchor is not among them: the runner resumes its anchor.
   */
  failInterruptedJobs(): number {
    return this.db
      .prepare(
        `UPDATE jobs SET status = 'failed', error_code = 'job_interrupted', error_message = 'the host stopped while the job ran; submit it again', message = 'failed', anchoring = 0, updated_at = ?
         WHERE status = 'running' AND id NOT IN (SELECT job_id FROM pending_results)`,
      )
      .run(new Date().toISOString()).changes;
  }

  /** Show a running job as waiting for the chain (or running again), with a message. */
  setAnchoring(id: string, anchoring: boolean, message: string): void {
    this.db
      .prepare(
        `UPDATE jobs SET anchoring = ?, message = ?, updated_at = ? WHERE id = ? AND status = 'running'`,
      )
      .run(anchoring ? 1 : 0, message, new Date().toISOString(), id);
  }

  /** Keep a released result before its hash goes on chain, and show its job as anchoring (atomically). */
  beginResultAnchor(jobId: string, pending: PendingResult): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT OR REPLACE INTO pending_results (job_id, document, created_at) VALUES (?, ?, ?)')
        .run(jobId, JSON.stringify(pending), new Date().toISOString());
      this.setAnchoring(jobId, true, 'anchoring the result on the chain');
      this.db.prepare('UPDATE jobs SET progress = 0.9 WHERE id = ?').run(jobId);
    })();
  }

  /** Released results still waiting for their anchor, oldest first. */
  pendingResults(): { jobId: string; pending: PendingResult }[] {
    const rows = this.db
      .prepare('SELECT job_id, document FROM pending_results ORDER BY created_at, job_id')
      .all() as { job_id: string; document: string }[];
    return rows.map((r) => ({ jobId: r.job_id, pending: PendingResultSchema.parse(JSON.parse(r.document)) }));
  }

  /** Store a result and mark its job succeeded, atomically (its pending copy goes). */
  completeJob(jobId: string, doc: ResultDocument): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM pending_results WHERE job_id = ?').run(jobId);
      this.db
        .prepare('INSERT INTO results (id, job_id, hash, document, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(doc.id, jobId, doc.hash, JSON.stringify(doc), new Date().toISOString());
      this.db
        .prepare(
          `UPDATE jobs SET status = 'succeeded', progress = 1, message = 'done', anchoring = 0, result_id = ?, updated_at = ? WHERE id = ?`,
        )
        .run(doc.id, new Date().toISOString(), jobId);
    })();
  }

  /** Whether a result with this id exists. */
  hasResult(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM results WHERE id = ?').get(id) !== undefined;
  }

  /** The job a stored result is of (read from its row, whatever form its document has), or undefined. */
  resultJob(id: string): string | undefined {
    return (
      this.db.prepare('SELECT job_id FROM results WHERE id = ?').get(id) as { job_id: string } | undefined
    )?.job_id;
  }

  /**
   * The result with this id; throws 'result_not_found' (404), or 'result_unsupported' (410)
   * for a result stored by an earlier version in a form this one no longer serves (result/1,
   * made before outputs were sealed to their readers).
   */
  result(id: string): ResultDocument {
    const row = this.db.prepare('SELECT document FROM results WHERE id = ?').get(id) as
      | { document: string }
      | undefined;
    if (!row) throw new ObscuraError('result_not_found', `no result with id ${id}`, 404);
    const doc = ResultDocumentSchema.safeParse(JSON.parse(row.document));
    if (!doc.success)
      throw new ObscuraError(
        'result_unsupported',
        `result ${id} was stored by an earlier version (before results were sealed to their readers) and is not served`,
        410,
      );
    return doc.data;
  }

  /** All results this version serves, newest first (earlier versions' forms left out: see result()). */
  results(): ResultDocument[] {
    const rows = this.db.prepare('SELECT document FROM results ORDER BY created_at DESC, id').all() as {
      document: string;
    }[];
    return rows.flatMap((r) => {
      const doc = ResultDocumentSchema.safeParse(JSON.parse(r.document));
      return doc.success ? [doc.data] : [];
    });
  }

  /**
   * Up to `n` results in list order (newest first) after the result `after`, each with its job
   * and its document (undefined for an earlier version's form, which is not served: see
   * result()). Only results `account` may be able to read are read: of jobs it submitted or
   * has an input of, or whose pipeline asks to be public. That is a superset of what it may
   * read (access.ts decides exactly on each, reading a page's worth of jobs instead of all);
   * narrowing it here keeps a list request from reading and parsing every result stored.
   */
  resultsAfter(account: string | undefined, after: string | undefined, n: number): ResultListRow[] {
    const rows = this.db
      .prepare(
        `SELECT r.id, r.job_id, r.document FROM results r JOIN jobs j ON j.id = r.job_id
         WHERE (@after IS NULL
                OR r.created_at < (SELECT created_at FROM results WHERE id = @after)
                OR (r.created_at = (SELECT created_at FROM results WHERE id = @after) AND r.id > @after))
           AND ${MAY_READ_JOB}
         ORDER BY r.created_at DESC, r.id
         LIMIT @n`,
      )
      .all({ account: account ?? null, after: after ?? null, n }) as {
      id: string;
      job_id: string;
      document: string;
    }[];
    return rows.map((r) => {
      const doc = ResultDocumentSchema.safeParse(JSON.parse(r.document));
      return { id: r.id, job: r.job_id, document: doc.success ? doc.data : undefined };
    });
  }

  /** Record an anchored upgrade authorisation (replacing an earlier one for the same pair). */
  insertUpgradeAuthorization(a: Omit<UpgradeAuthorization, 'createdAt'>): UpgradeAuthorization {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO upgrade_authorizations (from_measurement, to_measurement, authorized_by, receipt_json, statement_json, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        a.from,
        a.to,
        a.authorizedBy,
        JSON.stringify(a.receipt),
        a.statement ? JSON.stringify(a.statement) : null,
        new Date().toISOString(),
      );
    return this.upgradeAuthorization(a.from, a.to) as UpgradeAuthorization;
  }

  /** The authorisation of the upgrade from → to, if one was anchored. */
  upgradeAuthorization(from: string, to: string): UpgradeAuthorization | undefined {
    const row = this.db
      .prepare(
        'SELECT from_measurement, to_measurement, authorized_by, receipt_json, statement_json, created_at FROM upgrade_authorizations WHERE from_measurement = ? AND to_measurement = ?',
      )
      .get(from, to) as
      | {
          from_measurement: string;
          to_measurement: string;
          authorized_by: string;
          receipt_json: string;
          statement_json: string | null;
          created_at: string;
        }
      | undefined;
    if (!row) return undefined;
    return {
      from: row.from_measurement,
      to: row.to_measurement,
      authorizedBy: row.authorized_by,
      ...(row.statement_json
        ? { statement: SignedUpgradeAuthorizationSchema.parse(JSON.parse(row.statement_json)) }
        : {}),
      receipt: AnchorReceiptSchema.parse(JSON.parse(row.receipt_json)),
      createdAt: row.created_at,
    };
  }

  /** All upgrade authorisations, newest first. */
  upgradeAuthorizations(): UpgradeAuthorization[] {
    const rows = this.db
      .prepare('SELECT from_measurement, to_measurement FROM upgrade_authorizations ORDER BY created_at DESC')
      .all() as {
      from_measurement: string;
      to_measurement: string;
    }[];
    return rows.map(
      (r) => this.upgradeAuthorization(r.from_measurement, r.to_measurement) as UpgradeAuthorization,
    );
  }
}
