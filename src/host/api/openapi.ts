/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes parse and the
 * store returns (zod 4's JSON Schema output), so the document cannot drift from the code.
 */
import { z } from 'zod';
import type { AccessRule } from './access.ts';
import { WorkerRecordSchema } from './workers.ts';
import { ProblemSchema } from './problem.ts';
import {
  DatasetBudgetSchema,
  DatasetPolicyStateSchema,
  HealthSchema,
  JobPreviewSchema,
  JobSubmissionSchema,
  PipelineSubmissionSchema,
} from '../../contracts/api-schemas.ts';
import { SignedApprovalSchema, SignedPolicyUpdateSchema } from '../../privacy/statements.ts';
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

interface Route {
  method: 'get' | 'post' | 'delete';
  path: string;
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

const list = <T extends z.ZodType>(key: string, item: T) => z.object({ [key]: z.array(item) });

/**
 * Every route of /v1, in one table, each with its access rule: the app answers 404 to any
 * request that matches no entry, and test/adversary/route-roles.test.ts walks every entry.
 */
export const ROUTES: Route[] = [
  {
    method: 'get',
    path: '/v1/health',
    access: { auth: 'none', who: 'anyone' },
    summary: 'Host, chain and worker status',
    response: { status: 200, schema: HealthSchema },
  },
  {
    method: 'get',
    path: '/v1/workers',
    access: { auth: 'none', who: 'anyone' },
    summary: 'Enclave workers with their measurement and keys',
    response: { status: 200, schema: list('workers', WorkerRecordSchema) },
  },
  {
    method: 'get',
    path: '/v1/workers/{id}/attestation',
    access: { auth: 'none', who: 'anyone' },
    summary: "Fresh attestation evidence for a worker, bound to the caller's nonce",
    params: ['id'],
    query: { nonce: '32 random bytes as 64 hex characters' },
    response: {
      status: 200,
      schema: z.object({
        worker: z.string(),
        nonce: z.string(),
        sealingRoot: SealingRootSourceSchema,
        evidence: EvidenceSchema,
      }),
    },
  },
  {
    method: 'post',
    path: '/v1/datasets',
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
    access: { auth: 'signed', lists: 'dataset', who: 'any signed caller; lists the datasets it may read' },
    summary: 'Datasets (metadata only)',
    response: { status: 200, schema: list('datasets', DatasetRecordSchema) },
  },
  {
    method: 'get',
    path: '/v1/datasets/{id}',
    access: {
      auth: 'signed',
      reads: 'dataset',
      who: 'the owner and the analysts its manifest and policy in force allow',
    },
    summary: 'One dataset (metadata only)',
    params: ['id'],
    response: { status: 200, schema: DatasetRecordSchema },
  },
  {
    method: 'post',
    path: '/v1/datasets/{id}/policy',
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
    access: {
      auth: 'signed',
      reads: 'dataset',
      who: 'the owner and the analysts its manifest and policy in force allow',
    },
    summary: 'The policy in force for a dataset, with its version',
    params: ['id'],
    response: { status: 200, schema: DatasetPolicyStateSchema },
  },
  {
    method: 'get',
    path: '/v1/datasets/{id}/budget',
    access: {
      auth: 'signed',
      reads: 'dataset',
      who: 'the owner and the analysts its manifest and policy in force allow',
    },
    summary: "A dataset's privacy budget as its worker's enclave counts it (owner and allowed analysts only)",
    params: ['id'],
    response: { status: 200, schema: DatasetBudgetSchema },
  },
  {
    method: 'post',
    path: '/v1/pipelines',
    access: { auth: 'signed', who: 'any signed caller' },
    summary: 'Store a pipeline under its canonical hash',
    request: { contentType: 'application/json', schema: PipelineSubmissionSchema },
    response: { status: 201, schema: PipelineRecordSchema },
  },
  {
    method: 'get',
    path: '/v1/pipelines',
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
    access: { auth: 'signed', who: 'the analyst (the signer); every input must be readable by it' },
    summary:
      'Run a pipeline over datasets; checked before it is queued, and held (awaiting_approval) until the owners whose policy asks for it approve',
    optionalQuery: {
      dry_run:
        '`true`: report every check and the privacy cost (200, a job preview) without queueing or touching data',
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
    access: {
      auth: 'optional',
      lists: 'job',
      who: 'anyone; lists the jobs the caller may read (unsigned: public ones)',
    },
    summary: 'Jobs with status and progress',
    response: { status: 200, schema: list('jobs', JobRecordSchema) },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}',
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
    access: { auth: 'signed', who: "the dataset's owner" },
    summary: "An owner's signed approval of a pipeline hash on a dataset; releases the jobs it completes",
    request: { contentType: 'application/json', schema: SignedApprovalSchema },
    response: {
      status: 201,
      schema: z.object({ approval: SignedApprovalSchema, released: z.array(z.string()) }),
    },
  },
  {
    method: 'get',
    path: '/v1/approvals',
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
    access: {
      auth: 'optional',
      reads: 'result',
      who: "the job's analyst and its inputs' owners; anyone if public",
    },
    summary: 'A signed result with its attestation and anchor',
    params: ['id'],
    response: { status: 200, schema: ResultDocumentSchema },
  },
  {
    method: 'get',
    path: '/v1/results/{id}/provenance',
    access: {
      auth: 'optional',
      reads: 'result',
      who: "the job's analyst and its inputs' owners; anyone if public",
    },
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
    access: { auth: 'signed', operator: true, who: "the host's operators" },
    summary: 'Anchor an authorisation of an enclave upgrade (operators only)',
    request: { contentType: 'application/json', schema: UpgradeRequestSchema },
    response: { status: 201, schema: UpgradeAuthorizationSchema },
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    summary: 'This document',
    access: { auth: 'none', who: 'anyone' },
    response: { status: 200, schema: z.record(z.string(), z.unknown()) },
  },
  {
    method: 'get',
    path: '/v1/upgrades',
    access: { auth: 'signed', who: 'any signed caller (they are anchored on chain anyway)' },
    summary: 'Anchored upgrade authorisations',
    response: { status: 200, schema: list('upgrades', UpgradeAuthorizationSchema) },
  },
];

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
}

/** The OpenAPI document served at /v1/openapi.json. */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const parameters = [
      ...(r.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(r.query ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        required: true,
        description,
        schema: { type: 'string' },
      })),
      ...Object.entries(r.optionalQuery ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        required: false,
        description,
        schema: { type: 'string' },
      })),
    ];
    const problem = {
      description: 'Error',
      content: { 'application/problem+json': { schema: jsonSchema(ProblemSchema) } },
    };
    const item = paths[r.path] ?? {};
    paths[r.path] = item;
    item[r.method] = {
      summary: r.summary,
      ...(parameters.length ? { parameters } : {}),
      // `optional`: an unsigned request is answered too, with public items only.
      ...(r.access.auth === 'none'
        ? { security: [] }
        : {
            security:
              r.access.auth === 'optional' ? [{}, { obscuraSignature: [] }] : [{ obscuraSignature: [] }],
          }),
      'x-obscura-access': r.access.who,
      ...(r.request
        ? {
            requestBody: {
              required: true,
              content: { [r.request.contentType]: { schema: jsonSchema(r.request.schema) } },
            },
          }
        : {}),
      responses: {
        [r.response.status]: {
          description: 'OK',
          content: { 'application/json': { schema: jsonSchema(r.response.schema) } },
        },
        ...(r.alternative
          ? {
              [r.alternative.status]: {
                description: r.alternative.description,
                content: { 'application/json': { schema: jsonSchema(r.alternative.schema) } },
              },
            }
          : {}),
        '4XX': problem,
        '5XX': problem,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Obscura',
      version: '0.1.0',
      description: 'Private, federated data analytics: sealed datasets, attested enclaves, anchored results.',
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      securitySchemes: {
        obscuraSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'obscura-signature',
          description:
            'sr25519 signature of `obscura-request/1\\n<METHOD>\\n<path?query>\\n<obscura-timestamp>\\n<body sha256 hex>` by the account in `obscura-account`.',
        },
      },
    },
  };
}
