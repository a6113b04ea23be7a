/**
 * The route table of /v1: each route's method, path, operationId, tag, access rule and the
 * zod schemas of its body and answer. The access guard (access.ts) and the OpenAPI document
 * (openapi-document.ts) are both made from it.
 */
import { z } from 'zod';
import type { AccessRule } from './access.ts';
import { WorkerRecordSchema } from '../../contracts/worker-record.ts';
import {
  DatasetBudgetSchema,
  DatasetPolicyStateSchema,
  HealthSchema,
  JobPreviewSchema,
  JobRefusalSchema,
  JobSubmissionSchema,
  PipelineSubmissionSchema,
} from '../../contracts/api-schemas.ts';
import { SignedApprovalSchema, SignedPolicyUpdateSchema } from '../../privacy/statements.ts';
import { CollateralSchema } from '../../attestation/dcap/collateral.ts';
import { EvidenceSchema } from '../../attestation/evidence.ts';
import { SealingRootSourceSchema } from '../../attestation/providers/sealing-root.ts';
import {
  DatasetRecordSchema,
  JobRecordSchema,
  PipelineRecordSchema,
  ResultDocumentSchema,
  UpgradeAuthorizationSchema,
} from '../store/index.ts';
import { UpgradeRequestSchema } from './routes/upgrades.ts';
import { SignedManifestSchema } from '../../crypto/manifest.ts';
import { NodeStatusSchema, SignedNodeRecordSchema } from '../../contracts/node-record.ts';
import { DatasetsQuerySchema, HelloRequestSchema } from './routes/federation.ts';
import { HeldDatasetsSchema } from '../federation/locate.ts';
import { RELAYED_REQUESTS } from '../federation/remote-member.ts';

interface Route {
  method: 'get' | 'post' | 'delete';
  path: string;
  /** Stable name of the operation (generated clients name their methods after it). */
  operationId: string;
  /** The resource it belongs to (the document's tags). */
  tag: string;
  summary: string;
  /** Who may call it: the one place access rules live (applied by src/host/api/access.ts). */
  access: AccessRule;
  request?: { contentType: string; schema: z.ZodType };
  response: { status: number; schema: z.ZodType };
  /** Another success response (e.g. a dry run's). */
  alternative?: { status: number; schema: z.ZodType; description: string };
  params?: string[];
  query?: Record<string, string>;
  optionalQuery?: Record<string, string>;
}

/** A page of a list route: the items and the cursor of the next page (null: the last). */
const list = <T extends z.ZodType>(key: string, item: T) =>
  z.object({ [key]: z.array(item), next: z.string().nullable() });

/** Public routes: never signed. */
const PUBLIC: AccessRule = { auth: 'none', who: 'anyone' };
/** A dataset's metadata, policy in force and budget: read by whom its owner allows. */
const DATASET_READERS: AccessRule = {
  auth: 'signed',
  reads: 'dataset',
  who: 'the owner and the analysts its manifest and policy in force allow',
};
/** A result and its provenance: its job's readers, or anyone if public. */
const RESULT_READERS: AccessRule = {
  auth: 'optional',
  reads: 'result',
  who: "the job's analyst and its inputs' owners; anyone if public",
};

/** The federation's node-to-node routes: another node, proven as its record on the chain and its workers' attestation. */
const PEER_NODES: AccessRule = {
  auth: 'signed',
  node: true,
  who: 'another node: the operator of a fresh node record on the chain, running code this node accepts, attested now',
};

/**
 * Every route of /v1, in one table, each with its access rule: the app answers 404 to any
 * request that matches no entry, and test/adversary/route-roles.test.ts walks every entry.
 */
export const ROUTES: Route[] = [
  {
    method: 'get',
    path: '/v1/health',
    operationId: 'getHealth',
    tag: 'system',
    access: PUBLIC,
    summary: 'Host, chain and worker status',
    response: { status: 200, schema: HealthSchema },
  },
  {
    method: 'get',
    path: '/v1/workers',
    operationId: 'listWorkers',
    tag: 'workers',
    access: PUBLIC,
    summary: 'Enclave workers with their measurement and keys',
    response: { status: 200, schema: list('workers', WorkerRecordSchema) },
  },
  {
    method: 'get',
    path: '/v1/workers/{id}/attestation',
    operationId: 'getWorkerAttestation',
    tag: 'workers',
    access: PUBLIC,
    summary: "Fresh attestation evidence for a worker, bound to the caller's nonce",
    params: ['id'],
    query: { nonce: '32 random bytes as 64 hex characters' },
    optionalQuery: {
      collateral:
        "`true`: for a hardware quote, also relay Intel's collateral (signed up to Intel's SGX root CA, so the host cannot forge it) or why there is none",
    },
    response: {
      status: 200,
      schema: z.object({
        worker: z.string(),
        nonce: z.string(),
        sealingRoot: SealingRootSourceSchema,
        evidence: EvidenceSchema,
        collateral: CollateralSchema.optional(),
        origin: z.string().optional().describe('where the host got the collateral'),
        collateralError: z.string().optional().describe('why the host has no collateral to relay'),
      }),
    },
  },
  {
    method: 'get',
    path: '/v1/nodes',
    operationId: 'listNodes',
    tag: 'federation',
    access: { auth: 'none', who: 'anyone (the chain already makes node records public)' },
    summary:
      "The federation's nodes from their records on the chain, each worker's attestation checked now with a fresh nonce",
    response: { status: 200, schema: list('nodes', NodeStatusSchema) },
  },
  {
    method: 'get',
    path: '/v1/federation/node',
    operationId: 'getOwnNodeRecord',
    tag: 'federation',
    access: { auth: 'none', who: 'anyone (the record is on the chain already)' },
    summary: "The node record this node last published (peers check that a record's URL is this node)",
    response: { status: 200, schema: SignedNodeRecordSchema },
  },
  {
    method: 'post',
    path: '/v1/federation/hello',
    operationId: 'federationHello',
    tag: 'federation',
    access: PEER_NODES,
    summary: "A peer node's handshake: this node's workers' evidence for the peer's nonce",
    request: { contentType: 'application/json', schema: HelloRequestSchema },
    response: {
      status: 200,
      schema: z.object({
        node: z.string().optional(),
        peer: z.string(),
        nonce: z.string(),
        workers: z.array(z.object({ id: z.string(), evidence: EvidenceSchema })),
      }),
    },
  },
  {
    method: 'post',
    path: '/v1/federation/datasets',
    operationId: 'federationDatasets',
    tag: 'federation',
    access: PEER_NODES,
    summary:
      "Which of the datasets an analyst's signed job request binds this node holds (only those the analyst may read): a coordinating node finds each dataset's node",
    request: { contentType: 'application/json', schema: DatasetsQuerySchema },
    response: { status: 200, schema: HeldDatasetsSchema },
  },
  {
    method: 'post',
    path: '/v1/federation/relay',
    operationId: 'federationRelay',
    tag: 'federation',
    access: PEER_NODES,
    summary:
      "A coordinating node's federated request for one of this node's workers (training: attest, fed_open, fed_round, fed_evaluate, fed_close, cancel_job; aggregates: fed_partial_check, fed_partial)",
    request: {
      contentType: 'application/json',
      schema: z.object({
        worker: z.string(),
        type: z.enum(RELAYED_REQUESTS),
        body: z.record(z.string(), z.unknown()),
      }),
    },
    response: { status: 200, schema: z.record(z.string(), z.unknown()) },
  },
  {
    method: 'post',
    path: '/v1/datasets',
    operationId: 'uploadDataset',
    tag: 'datasets',
    access: { auth: 'signed', unsignedPayload: true, who: 'the owner the signed manifest names' },
    summary: 'Upload a sealed dataset (multipart: `manifest` field, then `sealed` file)',
    request: {
      contentType: 'multipart/form-data',
      schema: z.object({
        manifest: SignedManifestSchema,
        sealed: z.string().describe('the age-encrypted file'),
      }),
    },
    response: { status: 201, schema: DatasetRecordSchema },
  },
  {
    method: 'get',
    path: '/v1/datasets',
    operationId: 'listDatasets',
    tag: 'datasets',
    access: { auth: 'signed', lists: 'dataset', who: 'any signed caller; lists the datasets it may read' },
    summary: 'Datasets (metadata only)',
    response: { status: 200, schema: list('datasets', DatasetRecordSchema) },
  },
  {
    method: 'get',
    path: '/v1/datasets/{id}',
    operationId: 'getDataset',
    tag: 'datasets',
    access: DATASET_READERS,
    summary: 'One dataset (metadata only)',
    params: ['id'],
    response: { status: 200, schema: DatasetRecordSchema },
  },
  {
    method: 'post',
    path: '/v1/datasets/{id}/policy',
    operationId: 'updateDatasetPolicy',
    tag: 'datasets',
    access: { auth: 'signed', reads: 'dataset', who: 'the owner' },
    summary:
      "The owner's signed policy update or revocation; applied by the worker's enclave and anchored on chain",
    params: ['id'],
    request: { contentType: 'application/json', schema: SignedPolicyUpdateSchema },
    response: {
      status: 201,
      schema: z.object({ update: SignedPolicyUpdateSchema, ledgerSeq: z.number().int() }),
    },
  },
  {
    method: 'get',
    path: '/v1/datasets/{id}/policy',
    operationId: 'getDatasetPolicy',
    tag: 'datasets',
    access: DATASET_READERS,
    summary: 'The policy in force for a dataset, with its version',
    params: ['id'],
    response: { status: 200, schema: DatasetPolicyStateSchema },
  },
  {
    method: 'get',
    path: '/v1/datasets/{id}/budget',
    operationId: 'getDatasetBudget',
    tag: 'datasets',
    access: DATASET_READERS,
    summary: "A dataset's privacy budget as its worker's enclave counts it (owner and allowed analysts only)",
    params: ['id'],
    response: { status: 200, schema: DatasetBudgetSchema },
  },
  {
    method: 'post',
    path: '/v1/pipelines',
    operationId: 'createPipeline',
    tag: 'pipelines',
    access: { auth: 'signed', who: 'any signed caller' },
    summary: 'Store a pipeline under its canonical hash',
    request: { contentType: 'application/json', schema: PipelineSubmissionSchema },
    response: { status: 201, schema: PipelineRecordSchema },
  },
  {
    method: 'get',
    path: '/v1/pipelines',
    operationId: 'listPipelines',
    tag: 'pipelines',
    access: {
      auth: 'signed',
      lists: 'pipeline',
      who: 'any signed caller; lists the pipelines it stored or whose jobs it may read',
    },
    summary: 'Stored pipelines',
    response: { status: 200, schema: list('pipelines', PipelineRecordSchema) },
  },
  {
    method: 'get',
    path: '/v1/pipelines/{hash}',
    operationId: 'getPipeline',
    tag: 'pipelines',
    access: {
      auth: 'signed',
      reads: 'pipeline',
      who: 'the account that stored it, and the readers of a job that runs it',
    },
    summary: 'One pipeline',
    params: ['hash'],
    response: { status: 200, schema: PipelineRecordSchema },
  },
  {
    method: 'post',
    path: '/v1/jobs',
    operationId: 'submitJob',
    tag: 'jobs',
    access: { auth: 'signed', who: 'the analyst (the signer); every input must be readable by it' },
    summary:
      'Run a pipeline over datasets; checked before it is queued, and held (awaiting_approval) until the owners whose policy asks for it approve',
    optionalQuery: {
      dry_run:
        "`true`: report every check and the privacy cost (200, a job preview) without queueing or touching data; with the signed request, datasets of other nodes are located and named in an 'other nodes' check (their nodes check them when the job runs; 422 dry_run_remote_only when all are elsewhere)",
    },
    request: { contentType: 'application/json', schema: JobSubmissionSchema },
    response: { status: 202, schema: JobRecordSchema },
    alternative: {
      status: 200,
      schema: JobPreviewSchema,
      description: 'dry run: the checks and the privacy cost',
    },
  },
  {
    method: 'get',
    path: '/v1/jobs',
    operationId: 'listJobs',
    tag: 'jobs',
    access: {
      auth: 'optional',
      lists: 'job',
      who: 'anyone; lists the jobs the caller may read (unsigned: public ones)',
    },
    summary: 'Jobs with status and progress',
    optionalQuery: {
      status: 'only jobs in this state (queued, awaiting_approval, running, succeeded, failed, cancelled)',
    },
    response: { status: 200, schema: list('jobs', JobRecordSchema) },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}',
    operationId: 'getJob',
    tag: 'jobs',
    access: {
      auth: 'optional',
      reads: 'job',
      who: "the job's analyst and its inputs' owners; anyone if public; a failure's reason: the analyst only",
    },
    summary: 'One job',
    params: ['id'],
    response: { status: 200, schema: JobRecordSchema },
  },
  {
    method: 'delete',
    path: '/v1/jobs/{id}',
    operationId: 'cancelJob',
    tag: 'jobs',
    access: { auth: 'signed', reads: 'job', who: "the job's analyst (others who may read the job: 403)" },
    summary:
      'Cancel a job that has not ended: a queued job ends cancelled at once; a running one is stopped by its enclave and ends cancelled. 409 for a job that has ended',
    params: ['id'],
    response: { status: 202, schema: JobRecordSchema },
    alternative: {
      status: 200,
      schema: JobRecordSchema,
      description: 'the job was queued (or awaiting approval) and is now cancelled',
    },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/preview',
    operationId: 'getJobPreview',
    tag: 'jobs',
    access: {
      auth: 'signed',
      reads: 'job',
      who: "the job's analyst and its inputs' owners (and anyone signed, if public)",
    },
    summary: 'What a job reads, outputs and spends, and every check: what an approving owner sees',
    params: ['id'],
    response: { status: 200, schema: JobPreviewSchema },
  },
  {
    method: 'post',
    path: '/v1/approvals',
    operationId: 'approvePipeline',
    tag: 'approvals',
    access: { auth: 'signed', who: "the dataset's owner" },
    summary: "An owner's signed approval of a pipeline hash on a dataset; releases the jobs it completes",
    request: { contentType: 'application/json', schema: SignedApprovalSchema },
    response: {
      status: 201,
      schema: z.object({ approval: SignedApprovalSchema, released: z.array(z.string()) }),
    },
  },
  {
    method: 'post',
    path: '/v1/jobs/{id}/refusal',
    operationId: 'refuseJob',
    tag: 'approvals',
    access: {
      auth: 'signed',
      reads: 'job',
      who: "an owner of the job's inputs whose approval it waits for (others who may read the job: 403)",
    },
    summary:
      'An owner refuses a job waiting for their approval, saying why: the job ends failed (refused_by_owner) with the reason, which its analyst reads. 409 for a job not waiting for approval',
    params: ['id'],
    request: { contentType: 'application/json', schema: JobRefusalSchema },
    response: { status: 200, schema: JobRecordSchema },
  },
  {
    method: 'get',
    path: '/v1/approvals',
    operationId: 'listApprovals',
    tag: 'approvals',
    access: {
      auth: 'signed',
      lists: 'approval',
      who: 'any signed caller; lists the jobs it ran or whose inputs it owns',
    },
    summary: 'Jobs waiting for approvals, with their previews',
    optionalQuery: { owner: 'only jobs waiting for this owner (ss58 address)' },
    response: { status: 200, schema: list('pending', JobPreviewSchema) },
  },
  {
    method: 'get',
    path: '/v1/results',
    operationId: 'listResults',
    tag: 'results',
    access: {
      auth: 'optional',
      lists: 'result',
      who: 'anyone; lists the results the caller may read (unsigned: public ones)',
    },
    summary: 'Published results',
    response: {
      status: 200,
      schema: list(
        'results',
        z.object({
          id: z.string(),
          job: z.string(),
          pipeline: z.object({ name: z.string(), hash: z.string() }),
          createdAt: z.string(),
          simulated: z.boolean(),
        }),
      ),
    },
  },
  {
    method: 'get',
    path: '/v1/results/{id}',
    operationId: 'getResult',
    tag: 'results',
    access: RESULT_READERS,
    summary: 'A signed result with its attestation and anchor',
    params: ['id'],
    response: { status: 200, schema: ResultDocumentSchema },
  },
  {
    method: 'get',
    path: '/v1/results/{id}/provenance',
    operationId: 'getResultProvenance',
    tag: 'results',
    access: RESULT_READERS,
    summary: "A result's provenance with the host's check of its chain anchor",
    params: ['id'],
    response: {
      status: 200,
      schema: z
        .object({ id: z.string(), hash: z.string(), anchorCheck: z.object({ ok: z.boolean() }).loose() })
        .loose(),
    },
  },
  {
    method: 'post',
    path: '/v1/upgrades',
    operationId: 'authorizeUpgrade',
    tag: 'upgrades',
    access: { auth: 'signed', operator: true, who: "the host's operators" },
    summary: 'Anchor an authorisation of an enclave upgrade (operators only)',
    request: { contentType: 'application/json', schema: UpgradeRequestSchema },
    response: { status: 201, schema: UpgradeAuthorizationSchema },
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'getOpenApiDocument',
    tag: 'system',
    summary: 'This document',
    access: PUBLIC,
    response: { status: 200, schema: z.record(z.string(), z.unknown()) },
  },
  {
    method: 'get',
    path: '/v1/upgrades',
    operationId: 'listUpgrades',
    tag: 'upgrades',
    access: { auth: 'signed', who: 'any signed caller (they are anchored on chain anyway)' },
    summary: 'Anchored upgrade authorisations',
    response: { status: 200, schema: list('upgrades', UpgradeAuthorizationSchema) },
  },
];
