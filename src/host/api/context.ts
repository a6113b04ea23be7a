/** What the API's routes and the job runner share: the host's stores, workers and chain. */
import type { CollateralSource } from '../../attestation/dcap/source.ts';
import type { ChainClient } from '../../chain/index.ts';
import type { BlobStore, Metadata, PrivacyStore } from '../store/index.ts';
import type { ChainHealth } from './anchoring.ts';
import type { SeenRequests } from './auth.ts';
import type { HostMetrics } from './metrics.ts';
import type { UploadGate, UploadLimits } from './uploads.ts';
import type { WorkerPool } from './workers.ts';
import type { NodeRegistry } from '../federation/registry.ts';

/** Host-wide limits. */
export interface HostLimits {
  /** Largest sealed upload accepted, in bytes. */
  maxUploadBytes: number;
}

/** Logging on the host: never given plaintext (the host has none). */
export type HostLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** The services every route can reach. */
export interface HostContext {
  metadata: Metadata;
  /** Approvals, policy updates and budget-ledger entries. */
  privacy: PrivacyStore;
  blobs: BlobStore;
  workers: WorkerPool;
  chain: ChainClient;
  chainEndpoint: string;
  /** The chain as this host's anchoring attempts found it (degraded while anchors wait). */
  chainHealth: ChainHealth;
  /** Aborted when the host stops: anchors stop waiting for the chain and resume at the next start. */
  shutdown: AbortSignal;
  limits: HostLimits;
  log: HostLog;
  metrics: HostMetrics;
  /** Accounts allowed to authorise enclave upgrades. */
  operators: string[];
  /** Per-account upload limits, and the uploads in flight they count. */
  uploadLimits: UploadLimits;
  uploads: UploadGate;
  /** Signed requests already accepted (replay protection, durable). */
  seenRequests: SeenRequests;
  /** Wakes the job runner when a job is queued. */
  notifyJobQueued: () => void;
  /** The federation's node registry on the chain (absent: this host takes no part). */
  nodes?: NodeRegistry;
  /** Where DCAP collateral relayed to the dashboard comes from (absent: Intel's PCS, cached in memory). */
  collateral?: CollateralSource;
  /** Cancels a job that has not ended (see JobRunner.cancel). */
  cancelJob: (id: string) => Promise<'cancelled' | 'cancelling'>;
}
