/**
 * Upgrade authorisations in the metadata database: the anchored, operator-signed statements
 * that let one enclave measurement hand over to another.
 */
import { AnchorReceiptSchema } from '../../../chain/schemas.ts';
import type { UpgradeAuthorization } from '../../../contracts/api-records.ts';
import { SignedUpgradeAuthorizationSchema } from '../../../contracts/upgrade-authorization.ts';
import { ResultsMetadata } from './results.ts';

/** Metadata's upgrade-authorisation questions (on top of all the others). */
export class UpgradesMetadata extends ResultsMetadata {
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
