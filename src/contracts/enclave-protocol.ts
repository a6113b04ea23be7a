/**
 * The message channel between the untrusted host and the enclave process. Both sides
 * validate every message against these schemas: the enclave because the host may be
 * hostile, the host because a crashed or confused enclave must not corrupt its state.
 * Host → enclave: requests carrying ciphertext locations, manifests, jobs and nonces.
 * Enclave → host: responses (attestation, signed results, validation verdicts), progress.
 */
import { z } from 'zod';
import { EnclaveKeysSchema, EvidenceSchema } from '../attestation/evidence.ts';
import { HardwareIdentitySchema, MeasurementSourceSchema } from '../attestation/providers/identity.ts';
import { ProviderKindSchema, TeeKindSchema } from '../attestation/providers/provider.ts';
import { SealingRootSourceSchema } from '../attestation/providers/sealing-root.ts';
import { SignedManifestSchema } from '../crypto/manifest.ts';
import { SignedApprovalSchema, SignedPolicyUpdateSchema } from '../privacy/statements.ts';
import { SignedJobRequestSchema } from '../privacy/job-request.ts';
// The schema module alone: the data package's index pulls in DuckDB and Arrow, which the
// host and the CLI have no use for.
import { DatasetSchemaSchema } from '../data/schema.ts';
import { SignedResultSchema } from './result.ts';
import { AnchorReceiptSchema } from '../chain/schemas.ts';
import { LedgerPlacementSchema } from '../chain/ledger.ts';
import { SignedLedgerEntrySchema } from './ledger.ts';
import { SignedUpgradeAuthorizationSchema } from './upgrade-authorization.ts';
import { PeerSchema, SealedMessageSchema } from '../federation/channel.ts';
import { JobLimitsSchema } from '../pipelines/limits.ts';

const Amount = z.object({
  total: z.number().nullable(),
  spent: z.number(),
  remaining: z.number().nullable(),
});
/** A dataset's privacy budget: totals from its policy (null: no limit), spent, remaining. */
export const BudgetViewSchema = z.object({ epsilon: Amount, delta: Amount });

const nonce = z.string().regex(/^[0-9a-f]{64}$/, 'nonce must be 32 bytes of hex');

/** A sealed dataset as the host hands it to the enclave: where the ciphertext is, and its manifest. */
export const SealedInputSchema = z.object({
  datasetId: z.string().min(1),
  /** Path of the content-addressed ciphertext blob; ciphertext is public, the enclave reads it directly. */
  blobPath: z.string().min(1),
  manifest: SignedManifestSchema,
});
export type SealedInput = z.infer<typeof SealedInputSchema>;

/**
 * A job as the enclave receives it. The analyst is not a field: the enclave takes it from
 * the analyst-signed request, which it checks against the pipeline and inputs given.
 */
export const JobSpecSchema = z.object({
  id: z.string().min(1),
  request: SignedJobRequestSchema,
  /** The pipeline document text; the enclave parses and hashes it itself. */
  pipeline: z.string().min(1),
  inputs: z
    .array(
      SealedInputSchema.extend({
        name: z.string().min(1),
        /** The owner's approval of this pipeline for the request's analyst and purpose, where the dataset's policy asks for one. */
        approval: SignedApprovalSchema.optional(),
        /** The dataset's newest policy update, if the owner made any. */
        policyUpdate: SignedPolicyUpdateSchema.optional(),
      }),
    )
    .min(1),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

/** A request of `type` with the fields of `shape`, and the id its response echoes. */
const request = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ id: z.number().int(), type: z.literal(type), ...shape });

/**
 * Every request the host may send, by type: the one list the protocol is made of. The
 * union below, the host's client and the enclave's handlers (src/enclave/handlers/, one
 * per key, which the compiler holds to this list) all derive from it.
 */
export const RequestSchemas = {
  hello: request('hello', {}),
  attest: request('attest', { nonce }),
  validate_dataset: request('validate_dataset', { input: SealedInputSchema }),
  run_job: request('run_job', { job: JobSpecSchema }),
  /** Stop a running job: its run_job fails with 'job_cancelled' (through the job's failure path). */
  cancel_job: request('cancel_job', { job: z.string().min(1) }),
  /** To the predecessor enclave: release the identity to this attested newcomer (see handover.ts). */
  handover_export: request('handover_export', {
    evidence: EvidenceSchema,
    nonce,
    measurement: z.string().regex(/^[0-9a-f]{64}$/),
    /** The operator-signed authorisation of the upgrade, and the receipt of its anchor. */
    statement: SignedUpgradeAuthorizationSchema,
    authorization: AnchorReceiptSchema,
  }),
  /**
   * After the host placed a ledger entry's head on chain: check it, and run what waited for
   * it (a job that spends privacy budget or approval runs reads its data only now).
   */
  confirm_ledger: request('confirm_ledger', { placement: LedgerPlacementSchema }),
  /**
   * The ledger entries committed whose heads were never confirmed on chain (the host or this
   * process died in between): the host places each and confirms it after a restart.
   */
  ledger_unconfirmed: request('ledger_unconfirmed', {}),
  /** Apply an owner's policy update (or revocation) to a dataset sealed to this worker. */
  apply_policy_update: request('apply_policy_update', {
    datasetId: z.string().min(1),
    manifest: SignedManifestSchema,
    update: SignedPolicyUpdateSchema,
  }),
  /** A dataset's privacy budget as the enclave's ledger has it. */
  budget: request('budget', {
    datasetId: z.string().min(1),
    manifest: SignedManifestSchema,
    policyUpdate: SignedPolicyUpdateSchema.optional(),
  }),
  /** Federated training (federated.ts): worker opens its partition; aggregator starts; rounds; evaluation; result. */
  fed_open: request('fed_open', {
    session: z.string().min(1),
    job: JobSpecSchema,
    step: z.string().min(1),
    aggregator: PeerSchema,
  }),
  fed_init: request('fed_init', {
    session: z.string().min(1),
    job: z.object({
      id: z.string(),
      request: SignedJobRequestSchema,
      pipeline: z.string(),
      step: z.string(),
    }),
    peers: z.array(PeerSchema).min(2),
    stats: z.array(SealedMessageSchema).min(2),
  }),
  fed_round: request('fed_round', { session: z.string().min(1), global: SealedMessageSchema }),
  fed_average: request('fed_average', {
    session: z.string().min(1),
    updates: z.array(SealedMessageSchema).min(2),
  }),
  fed_evaluate: request('fed_evaluate', { session: z.string().min(1), global: SealedMessageSchema }),
  fed_finish: request('fed_finish', {
    session: z.string().min(1),
    stats: z.array(SealedMessageSchema).min(2),
  }),
  /**
   * Federated aggregates (enclave/federated-aggregate.ts). A member checks its share of the
   * job and the coordinating enclave's attestation, spending nothing (every member checks
   * before any spends, so a refusal anywhere costs nothing anywhere).
   */
  fed_partial_check: request('fed_partial_check', { job: JobSpecSchema, coordinator: PeerSchema }),
  /**
   * A member takes its share: checks again and commits what it spends. Without a spend it
   * answers its sealed partial at once; with one, the ledger entry, and fed_partial_run
   * answers the partial once confirm_ledger showed the entry on chain.
   */
  fed_partial: request('fed_partial', {
    session: z.string().min(1),
    job: JobSpecSchema,
    coordinator: PeerSchema,
  }),
  fed_partial_run: request('fed_partial_run', { session: z.string().min(1) }),
  /** The coordinating enclave verifies every member and its sealed partial, merges, releases once. */
  fed_merge: request('fed_merge', {
    job: z.object({ id: z.string().min(1), request: SignedJobRequestSchema, pipeline: z.string().min(1) }),
    peers: z.array(PeerSchema).min(1),
    partials: z.array(SealedMessageSchema).min(1),
  }),
  /** The host is done with a federated session (finished, failed or cancelled): the enclave stops it and drops its state. */
  fed_close: request('fed_close', { session: z.string().min(1) }),
  /** To the newcomer: adopt the identity the predecessor released. */
  handover_import: request('handover_import', { sealedIdentity: z.string().min(1).max(65536) }),
} as const;

export type HostRequestType = keyof typeof RequestSchemas;
/** The request of one type. */
export type RequestOf<T extends HostRequestType> = z.infer<(typeof RequestSchemas)[T]>;
type AnyRequestSchema = (typeof RequestSchemas)[HostRequestType];

/** Requests from the host: the union of RequestSchemas. */
export const HostRequestSchema = z.discriminatedUnion(
  'type',
  Object.values(RequestSchemas) as [AnyRequestSchema, ...AnyRequestSchema[]],
);
export type HostRequest = z.infer<typeof HostRequestSchema>;

/** What the enclave says about itself. */
export const EnclaveInfoSchema = z.object({
  workerId: z.string(),
  tee: TeeKindSchema,
  /** How the enclave obtains its evidence. */
  provider: ProviderKindSchema,
  measurement: z.string().regex(/^[0-9a-f]{64}$/),
  /** Whether `measurement` is the hardware's (SGX MRENCLAVE) or the code measurement; see attestation/providers/identity.ts. */
  measurementSource: MeasurementSourceSchema,
  /** The registers of a quote the enclave made of itself at start (quote-based providers only). */
  hardware: HardwareIdentitySchema.optional(),
  /**
   * Where the key of its sealed state comes from (attestation/providers/sealing-root.ts).
   * Absent from enclaves of releases before it was reported (a predecessor in an upgrade),
   * whose root was the simulated file on every provider.
   */
  sealingRoot: SealingRootSourceSchema.optional(),
  keys: EnclaveKeysSchema,
  /** Whether the identity was restored from state sealed to this measurement (false: newly made). */
  restored: z.boolean(),
  /** The per-job limits the enclave enforces, and the heap its process was given (bytes). */
  limits: JobLimitsSchema.extend({ heapBytes: z.number().int().positive() }).optional(),
  /** How many federated sessions the enclave holds state for now (a count of jobs, nothing about rows). */
  federatedSessions: z.number().int().nonnegative().optional(),
});
export type EnclaveInfo = z.infer<typeof EnclaveInfoSchema>;

/** A failure the enclave reports: a stable code and a message free of plaintext. */
export const EnclaveFailureSchema = z.object({
  code: z.string(),
  message: z.string(),
  status: z.number().int(),
});
/** A failure the enclave reports. */
export type EnclaveFailure = z.infer<typeof EnclaveFailureSchema>;

/**
 * A result as the enclave releases it: signed, with the attestation made for it and, when
 * its outputs are sealed to their readers, the age file (base64) they are sealed in.
 */
export const ReleasedResultSchema = z.object({
  signed: SignedResultSchema,
  attestation: EvidenceSchema,
  ciphertext: z.base64().optional(),
});
export type ReleasedResult = z.infer<typeof ReleasedResultSchema>;

/** The value each request type answers with. */
export const ResponseValueSchemas = {
  hello: EnclaveInfoSchema,
  attest: z.object({ evidence: EvidenceSchema }),
  validate_dataset: z.object({ rows: z.number().int().nonnegative(), schema: DatasetSchemaSchema }),
  /**
   * A result, or (when the job spends privacy budget or approval runs) the spend entry,
   * committed before the job read anything: its head must go on chain, then confirm_ledger
   * runs the job.
   */
  run_job: z.union([ReleasedResultSchema, z.object({ ledger: SignedLedgerEntrySchema })]),
  /** Whether the job was running here (false: it had ended, or never started). */
  cancel_job: z.object({ cancelled: z.boolean() }),
  /**
   * What waited for the entry, run now: a job's result, or its failure (data-free once the
   * job read data; the spend stands either way).
   */
  confirm_ledger: z.object({
    entry: SignedLedgerEntrySchema,
    released: ReleasedResultSchema.optional(),
    failed: EnclaveFailureSchema.optional(),
  }),
  ledger_unconfirmed: z.object({ entries: z.array(SignedLedgerEntrySchema) }),
  apply_policy_update: z.object({ ledger: SignedLedgerEntrySchema }),
  budget: BudgetViewSchema,
  /** Only sealed statistics: the worker's row count would tell the host how many rows the pipeline kept. */
  fed_open: z.object({ stats: SealedMessageSchema, ledger: SignedLedgerEntrySchema.optional() }),
  fed_init: z.object({ global: z.array(SealedMessageSchema) }),
  fed_round: z.object({ update: SealedMessageSchema }),
  fed_average: z.object({ global: z.array(SealedMessageSchema) }),
  fed_evaluate: z.object({ stats: SealedMessageSchema }),
  fed_finish: ReleasedResultSchema,
  fed_partial_check: z.object({ ok: z.literal(true) }),
  /** The sealed partial (to the coordinating enclave only), or the spend entry to place first. */
  fed_partial: z.union([
    z.object({ partial: SealedMessageSchema }),
    z.object({ ledger: SignedLedgerEntrySchema }),
  ]),
  fed_partial_run: z.object({ partial: SealedMessageSchema }),
  fed_merge: ReleasedResultSchema,
  /** Whether the session was still held here. */
  fed_close: z.object({ closed: z.boolean() }),
  handover_export: z.object({ sealedIdentity: z.string().min(1) }),
  handover_import: EnclaveInfoSchema,
} as const;
export type ResponseValue<T extends HostRequestType> = z.infer<(typeof ResponseValueSchemas)[T]>;

/** Messages from the enclave. */
export const EnclaveMessageSchema = z.union([
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('response'), id: z.number().int(), ok: z.literal(true), value: z.unknown() }),
  z.object({
    type: z.literal('response'),
    id: z.number().int(),
    ok: z.literal(false),
    error: EnclaveFailureSchema,
  }),
  z.object({
    type: z.literal('progress'),
    id: z.number().int(),
    fraction: z.number().min(0).max(1),
    message: z.string(),
  }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), message: z.string() }),
]);
export type EnclaveMessage = z.infer<typeof EnclaveMessageSchema>;
