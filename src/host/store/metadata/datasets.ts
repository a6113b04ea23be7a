/**
 * Datasets in the metadata database: their signed manifests (public by design) and what the
 * host asks of them (which exist, which an account may list, how many sealed bytes an owner
 * stores).
 */
import type { DatasetRecord } from '../../../contracts/api-records.ts';
import { ObscuraError } from '../../../common/errors.ts';
import type { SignedManifest } from '../../../crypto/manifest.ts';
import { MetadataBase } from './base.ts';
import { afterInListOrder, type DatasetRow, datasetFromRow } from './rows.ts';

/** Metadata's dataset questions. */
export class DatasetsMetadata extends MetadataBase {
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
         WHERE ${afterInListOrder('datasets', 'd', 'id')}
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

  /** Sealed bytes stored for `owner`'s datasets. */
  storedBytes(owner: string): number {
    const row = this.db
      .prepare('SELECT COALESCE(SUM(ciphertext_bytes), 0) AS n FROM datasets WHERE owner = ?')
      .get(owner) as { n: number };
    return row.n;
  }
}
