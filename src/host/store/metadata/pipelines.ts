/**
 * Pipelines in the metadata database: documents stored under their hash, and who stored each
 * (they may read it back).
 */
import type { PipelineRecord } from '../../../contracts/api-records.ts';
import { ObscuraError } from '../../../common/errors.ts';
import { DatasetsMetadata } from './datasets.ts';
import { afterInListOrder, MAY_READ_JOB } from './rows.ts';

/** Metadata's pipeline questions (on top of the dataset ones). */
export class PipelinesMetadata extends DatasetsMetadata {
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
         WHERE ${afterInListOrder('pipelines', 'p', 'hash')}
           AND (EXISTS (SELECT 1 FROM pipeline_authors a WHERE a.hash = p.hash AND a.account = @account)
                OR EXISTS (SELECT 1 FROM jobs j WHERE j.pipeline_hash = p.hash AND ${MAY_READ_JOB}))
         ORDER BY p.created_at DESC, p.hash
         LIMIT @n`,
      )
      .all({ account, after: after ?? null, n }) as { hash: string }[];
    return rows.map((r) => this.pipeline(r.hash));
  }
}
