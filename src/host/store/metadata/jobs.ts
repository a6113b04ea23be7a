/**
 * Jobs in the metadata database: the queue, approvals holding a job back, and each job's
 * course from queued to an end (succeeded is written with its result: see results.ts).
 */
import type { JobRecord, JobStatus } from '../../../contracts/api-records.ts';
import { ObscuraError } from '../../../common/errors.ts';
import type { SignedJobRequest } from '../../../privacy/job-request.ts';
import { PipelinesMetadata } from './pipelines.ts';
import { afterInListOrder, JOB_SELECT, type JobRow, jobFromRow, MAY_READ_JOB, storedStatus } from './rows.ts';

/** Metadata's job questions (on top of the pipeline and dataset ones). */
export class JobsMetadata extends PipelinesMetadata {
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
         WHERE ${afterInListOrder('jobs', 'j', 'id')}
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
}
