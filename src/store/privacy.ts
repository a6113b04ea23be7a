/**
 * The host's copies of what owners and enclaves sign about privacy: owners' approvals of
 * pipelines, owners' policy updates, and the enclaves' budget-ledger entries with where
 * each was placed on chain. The host only stores and forwards them; every one is verified
 * by the enclave (signatures, versions, chain placement) before it counts.
 */
import { z } from 'zod';
import { LedgerPlacementSchema, type LedgerPlacement } from '../chain/ledger.ts';
import { type SignedApproval, SignedApprovalSchema, type SignedPolicyUpdate, SignedPolicyUpdateSchema } from '../privacy/statements.ts';
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

  /** Record (or replace) an owner's approval of a pipeline on a dataset. */
  putApproval(datasetId: string, signed: SignedApproval): void {
    this.db
      .prepare('INSERT OR REPLACE INTO approvals (dataset_id, pipeline_hash, document, created_at) VALUES (?, ?, ?, ?)')
      .run(datasetId, signed.approval.pipeline, JSON.stringify(signed), new Date().toISOString());
  }

  /** The approval of `pipelineHash` on a dataset, if its owner gave one. */
  approval(datasetId: string, pipelineHash: string): SignedApproval | undefined {
    const row = this.db.prepare('SELECT document FROM approvals WHERE dataset_id = ? AND pipeline_hash = ?').get(datasetId, pipelineHash) as
      | { document: string }
      | undefined;
    return row ? SignedApprovalSchema.parse(JSON.parse(row.document)) : undefined;
  }

  /** Record a policy update (versions are unique per dataset). */
  putPolicyUpdate(datasetId: string, signed: SignedPolicyUpdate): void {
    this.db
      .prepare('INSERT INTO policy_updates (dataset_id, version, document, created_at) VALUES (?, ?, ?, ?)')
      .run(datasetId, signed.update.version, JSON.stringify(signed), new Date().toISOString());
  }

  /** The newest policy update of a dataset, if any. */
  latestPolicyUpdate(datasetId: string): SignedPolicyUpdate | undefined {
    const row = this.db.prepare('SELECT document FROM policy_updates WHERE dataset_id = ? ORDER BY version DESC LIMIT 1').get(datasetId) as
      | { document: string }
      | undefined;
    return row ? SignedPolicyUpdateSchema.parse(JSON.parse(row.document)) : undefined;
  }

  /** Record a ledger entry an enclave signed and the host placed on chain. */
  putLedgerEntry(worker: string, seq: number, document: unknown, placement: LedgerPlacement): void {
    this.db
      .prepare('INSERT OR REPLACE INTO ledger_entries (worker_id, seq, document, placement, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(worker, seq, JSON.stringify(document), JSON.stringify(placement), new Date().toISOString());
  }

  /** A worker's ledger entries, oldest first. */
  ledgerEntries(worker: string): StoredLedgerEntry[] {
    const rows = this.db.prepare('SELECT worker_id, seq, document, placement, created_at FROM ledger_entries WHERE worker_id = ? ORDER BY seq').all(worker) as {
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
