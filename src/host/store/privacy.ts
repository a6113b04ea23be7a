/**
 * The host's copies of what owners and enclaves sign about privacy: owners' approvals of
 * pipelines, owners' policy updates, and the enclaves' budget-ledger entries with where
 * each was placed on chain. The host only stores and forwards them; every one is verified
 * by the enclave (signatures, versions, chain placement) before it counts.
 */
import { z } from 'zod';
import { LedgerPlacementSchema, type LedgerPlacement } from '../../chain/ledger.ts';
import {
  type SignedApproval,
  SignedApprovalSchema,
  type SignedPolicyUpdate,
  SignedPolicyUpdateSchema,
  statementHash,
} from '../../privacy/statements.ts';
import type { Db } from './db.ts';

/** A ledger entry as the host keeps it: the enclave-signed entry (opaque here) and its chain placement. */
export interface StoredLedgerEntry {
  worker: string;
  seq: number;
  document: unknown;
  placement: LedgerPlacement;
  createdAt: string;
}

/** Approvals, policy updates and ledger entries, over the metadata database. */
export class PrivacyStore {
  constructor(private readonly db: Db) {}

  /** Record an owner's approval (idempotent: keyed by its statement hash). */
  putApproval(datasetId: string, signed: SignedApproval): void {
    const a = signed.approval;
    this.db
      .prepare(
        `INSERT OR IGNORE INTO approvals (id, dataset_id, pipeline_hash, analyst, purpose_sha256, expires_at, runs, document, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        statementHash(signed),
        datasetId,
        a.pipeline,
        a.analyst,
        a.purpose,
        a.expiresAt,
        a.runs,
        JSON.stringify(signed),
        new Date().toISOString(),
      );
  }

  /**
   * The approval of `pipelineHash` on a dataset that still covers a job by `analyst` for the
   * purpose whose SHA-256 is `purpose`: not expired at `now`, with runs left as far as the
   * host knows (the enclaves' ledger entries it placed name each run used; the enclave's
   * own count is what decides). The one expiring soonest, if several.
   */
  approvalFor(
    datasetId: string,
    pipelineHash: string,
    analyst: string,
    purpose: string,
    now = new Date(),
  ): SignedApproval | undefined {
    const rows = this.db
      .prepare(
        'SELECT id, runs, document FROM approvals WHERE dataset_id = ? AND pipeline_hash = ? AND analyst = ? AND purpose_sha256 = ? AND expires_at > ? ORDER BY expires_at',
      )
      .all(datasetId, pipelineHash, analyst, purpose, now.toISOString()) as {
      id: string;
      runs: number;
      document: string;
    }[];
    const row = rows.find((r) => this.approvalRunsUsed(r.id) < r.runs);
    return row ? SignedApprovalSchema.parse(JSON.parse(row.document)) : undefined;
  }

  /** Runs of an approval (by statement hash) named by the ledger entries placed on chain. */
  approvalRunsUsed(approval: string): number {
    // An approval's hash appears in an entry's document only in its list of runs.
    const row = this.db
      .prepare(`SELECT COUNT(*) AS n FROM ledger_entries WHERE instr(document, ?) > 0`)
      .get(`"${approval}"`) as { n: number };
    return row.n;
  }

  /** Record a policy update (versions are unique per dataset). */
  putPolicyUpdate(datasetId: string, signed: SignedPolicyUpdate): void {
    this.db
      .prepare('INSERT INTO policy_updates (dataset_id, version, document, created_at) VALUES (?, ?, ?, ?)')
      .run(datasetId, signed.update.version, JSON.stringify(signed), new Date().toISOString());
  }

  /**
   * Record a policy update before its worker applies it: if the host dies before it knows
   * the outcome, the next start asks the worker's ledger whether it was applied.
   */
  putPendingPolicyUpdate(datasetId: string, signed: SignedPolicyUpdate): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO pending_policy_updates (dataset_id, version, document, created_at) VALUES (?, ?, ?, ?)',
      )
      .run(datasetId, signed.update.version, JSON.stringify(signed), new Date().toISOString());
  }

  /** Policy updates recorded before their worker's answer was known. */
  pendingPolicyUpdates(): { datasetId: string; signed: SignedPolicyUpdate }[] {
    const rows = this.db
      .prepare('SELECT dataset_id, document FROM pending_policy_updates ORDER BY dataset_id, version')
      .all() as { dataset_id: string; document: string }[];
    return rows.map((r) => ({
      datasetId: r.dataset_id,
      signed: SignedPolicyUpdateSchema.parse(JSON.parse(r.document)),
    }));
  }

  /** The worker applied a pending update: it is in force (atomically moved to policy_updates). */
  promotePolicyUpdate(datasetId: string, signed: SignedPolicyUpdate): void {
    this.db.transaction(() => {
      this.dropPendingPolicyUpdate(datasetId, signed.update.version);
      this.putPolicyUpdate(datasetId, signed);
    })();
  }

  /** Forget a pending update (its worker refused it, or never applied it). */
  dropPendingPolicyUpdate(datasetId: string, version: number): void {
    this.db
      .prepare('DELETE FROM pending_policy_updates WHERE dataset_id = ? AND version = ?')
      .run(datasetId, version);
  }

  /** The newest policy update of a dataset, if any. */
  latestPolicyUpdate(datasetId: string): SignedPolicyUpdate | undefined {
    const row = this.db
      .prepare('SELECT document FROM policy_updates WHERE dataset_id = ? ORDER BY version DESC LIMIT 1')
      .get(datasetId) as { document: string } | undefined;
    return row ? SignedPolicyUpdateSchema.parse(JSON.parse(row.document)) : undefined;
  }

  /** Record a ledger entry an enclave signed and the host placed on chain. */
  putLedgerEntry(worker: string, seq: number, document: unknown, placement: LedgerPlacement): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO ledger_entries (worker_id, seq, document, placement, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(worker, seq, JSON.stringify(document), JSON.stringify(placement), new Date().toISOString());
  }

  /** A worker's ledger entries, oldest first. */
  ledgerEntries(worker: string): StoredLedgerEntry[] {
    const rows = this.db
      .prepare(
        'SELECT worker_id, seq, document, placement, created_at FROM ledger_entries WHERE worker_id = ? ORDER BY seq',
      )
      .all(worker) as {
      worker_id: string;
      seq: number;
      document: string;
      placement: string;
      created_at: string;
    }[];
    return rows.map((r) => ({
      worker: r.worker_id,
      seq: r.seq,
      document: z.unknown().parse(JSON.parse(r.document)),
      placement: LedgerPlacementSchema.parse(JSON.parse(r.placement)),
      createdAt: r.created_at,
    }));
  }
}
