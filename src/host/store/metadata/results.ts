/**
 * Results in the metadata database: a released result kept until its anchor is on chain, then
 * stored with its job marked succeeded; and the results a list or a reader asks for.
 */
import {
  type PendingResult,
  PendingResultSchema,
  type ResultDocument,
  ResultDocumentSchema,
} from '../../../contracts/api-records.ts';
import { ObscuraError } from '../../../common/errors.ts';
import { JobsMetadata } from './jobs.ts';
import { afterInListOrder, MAY_READ_JOB } from './rows.ts';

/** A result as a list reads it (Metadata.resultsAfter). */
export interface ResultListRow {
  id: string;
  /** The job the result's row names (what the access checks read). */
  job: string;
  /** The document, or undefined for an earlier version's form, which is not served. */
  document: ResultDocument | undefined;
}

/** Metadata's result questions (on top of the job, pipeline and dataset ones). */
export class ResultsMetadata extends JobsMetadata {
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
         WHERE ${afterInListOrder('results', 'r', 'id')}
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
}
