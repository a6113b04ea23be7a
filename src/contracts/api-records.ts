/**
 * The records the host keeps and serves: datasets (public metadata of sealed files), jobs
 * and results. These schemas are the single source of the API's response shapes and of the
 * OpenAPI document.
 */
import { z } from 'zod';
import { EvidenceSchema } from '../attestation/evidence.ts';
import { AnchorReceiptSchema } from '../chain/schemas.ts';
import { LedgerPlacementSchema } from '../chain/ledger.ts';
import { SignedLedgerEntrySchema } from './ledger.ts';
import { SignedManifestSchema } from '../crypto/manifest.ts';
// The schema module alone: the data package's index pulls in DuckDB and Arrow, which the
// host and the CLI have no use for.
import { DatasetSchemaSchema } from '../data/schema.ts';
import { SignedResultSchema } from './result.ts';
import { SignedUpgradeAuthorizationSchema } from './upgrade-authorization.ts';
import { SignedJobRequestSchema } from '../privacy/job-request.ts';

/** A dataset as the API shows it: metadata only, never rows. */
export const DatasetRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  worker: z.string(),
  format: z.enum(['csv', 'parquet', 'arrow']),
  rows: z.number().int(),
  schema: DatasetSchemaSchema,
  ciphertext: z.object({ sha256: z.string(), bytes: z.number().int() }),
  analysts: z.array(z.string()),
  createdAt: z.string(),
  manifest: SignedManifestSchema,
});
export type DatasetRecord = z.infer<typeof DatasetRecordSchema>;

/**
 * Job states: [awaiting_approval →] queued → running [→ anchoring] → succeeded | failed, and
 * cancelled (by the job's analyst) before it runs or while it runs. `anchoring`: the job waits
 * for the chain to hold an anchor (its privacy budget spend, or its result's hash) and retries
 * until it does, across restarts of the host. succeeded, failed and cancelled are final.
 */
export const JobStatusSchema = z.enum([
  'awaiting_approval',
  'queued',
  'running',
  'anchoring',
  'succeeded',
  'failed',
  'cancelled',
]);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** A job as the API shows it. */
export const JobRecordSchema = z.object({
  id: z.string(),
  analyst: z.string(),
  pipeline: z.object({ hash: z.string(), name: z.string() }),
  /** Dataset id per input, or the ids of a federated input's partitions. */
  inputs: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  /** The worker that runs the job (for a federated job, the aggregator). */
  worker: z.string(),
  status: JobStatusSchema,
  /** What the analyst said the job is for (shown to approving owners). */
  purpose: z.string().optional(),
  /** The analyst's signed request the job runs (absent only on jobs from before requests were signed). */
  request: SignedJobRequestSchema.optional(),
  progress: z.number().min(0).max(1),
  message: z.string(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  result: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/**
 * A published result: the enclave-signed result, the attestation the enclave made for it
 * (nonce = the result body's hash), the chain anchor of its hash, and the age file its
 * outputs are sealed in (unless they are public). This whole document is what
 * `obscura result --format json` prints and `obscura verify --file` checks; the host keeps
 * and serves it as it is, so it never holds sealed outputs in the clear.
 */
export const ResultDocumentSchema = z.object({
  obscura: z.literal('result-document/1'),
  id: z.string(),
  /** SHA-256 of the JCS form of `signed`: the anchored record. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  signed: SignedResultSchema,
  attestation: EvidenceSchema,
  anchor: AnchorReceiptSchema,
  /** The age file (base64) of the outputs, sealed to the readers the signed body names; its SHA-256 is signed there. */
  ciphertext: z.base64().optional(),
  /**
   * The privacy-budget spend behind a DP result: the enclave-signed ledger entry naming this
   * result, and where its head was placed on chain (before the enclave released the result).
   */
  spend: z.object({ entry: SignedLedgerEntrySchema, placement: LedgerPlacementSchema }).optional(),
});
export type ResultDocument = z.infer<typeof ResultDocumentSchema>;

/**
 * A result the enclave released whose hash is not anchored yet: the host keeps it (public
 * hashes and ciphertext only) from before it asks the chain, so that a crash or a chain outage
 * between the anchor and the store loses nothing; it becomes a ResultDocument once anchored.
 */
export const PendingResultSchema = ResultDocumentSchema.omit({ anchor: true });
export type PendingResult = z.infer<typeof PendingResultSchema>;

/** A pipeline as stored: its canonical hash, name and the document as JSON text. */
export const PipelineRecordSchema = z.object({
  hash: z.string(),
  name: z.string(),
  document: z.unknown(),
  createdAt: z.string(),
});
export type PipelineRecord = z.infer<typeof PipelineRecordSchema>;

/** An anchored authorisation of an enclave upgrade from one measurement to another. */
export const UpgradeAuthorizationSchema = z.object({
  from: z.string().regex(/^[0-9a-f]{64}$/),
  to: z.string().regex(/^[0-9a-f]{64}$/),
  authorizedBy: z.string(),
  /** The operator's signed statement the anchor commits to (absent on authorisations anchored before statements were signed). */
  statement: SignedUpgradeAuthorizationSchema.optional(),
  receipt: AnchorReceiptSchema,
  createdAt: z.string(),
});
export type UpgradeAuthorization = z.infer<typeof UpgradeAuthorizationSchema>;
