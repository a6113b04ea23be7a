/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes parse and the
 * store returns (zod 4's JSON Schema output), so the document cannot drift from the code.
 */
import { z } from 'zod';
import { WorkerRecordSchema } from './workers.ts';
import { ProblemSchema } from './problem.ts';
import { DatasetBudgetSchema, DatasetPolicyStateSchema, HealthSchema, JobPreviewSchema, JobSubmissionSchema, PipelineSubmissionSchema } from './schemas.ts';
import { SignedApprovalSchema, SignedPolicyUpdateSchema } from '../privacy/statements.ts';
import { EvidenceSchema } from '../attestation/evidence.ts';
import { SealingRootSourceSchema } from '../attestation/providers/sealing-root.ts';
import { DatasetRecordSchema, JobRecordSchema, PipelineRecordSchema, ResultDocumentSchema, UpgradeAuthorizationSchema } from '../store/index.ts';
import { UpgradeRequestSchema } from './routes/upgrades.ts';
import { SignedManifestSchema } from '../crypto/manifest.ts';

interface Route {
  method: 'get' | 'post';
  path: string;
  summary: string;
  auth?: boolean;
  request?: { contentType: string; schema: z.ZodType };
  response: { status: number; schema: z.ZodType };
  /** Another success response (e.g. a dry run's). */
  alternative?: { status: number; schema: z.ZodType; description: string };
  params?: string[];
  query?: Record<string, string>;
  optionalQuery?: Record<string, string>;
}

const list = <T extends z.ZodType>(key: string, item: T) => z.object({ [key]: z.array(item) });

/** Every route of /v1, in one table: the tests check the app serves each of them. */
export const ROUTES: Route[] = [
  { method: 'get', path: '/v1/health', summary: 'Host, chain and worker status', response: { status: 200, schema: HealthSchema } },
  { method: 'get', path: '/v1/workers', summary: 'Enclave workers with their measurement and keys', response: { status: 200, schema: list('workers', WorkerRecordSchema) } },
  {
    method: 'get',
    path: '/v1/workers/{id}/attestation',
    summary: "Fresh attestation evidence for a worker, bound to the caller's nonce",
    params: ['id'],
    query: { nonce: '32 random bytes as 64 hex characters' },
    response: { status: 200, schema: z.object({ worker: z.string(), nonce: z.string(), sealingRoot: SealingRootSourceSchema, evidence: EvidenceSchema }) },
  },
  {
    method: 'post',
    path: '/v1/datasets',
    summary: 'Upload a sealed dataset (multipart: `manifest` field, then `sealed` file)',
    auth: true,
    request: { contentType: 'multipart/form-data', schema: z.object({ manifest: SignedManifestSchema, sealed: z.string().describe('the age-encrypted file') }) },
    response: { status: 201, schema: DatasetRecordSchema },
  },
  { method: 'get', path: '/v1/datasets', summary: 'Datasets (metadata only)', response: { status: 200, schema: list('datasets', DatasetRecordSchema) } },
  { method: 'get', path: '/v1/datasets/{id}', summary: 'One dataset (metadata only)', params: ['id'], response: { status: 200, schema: DatasetRecordSchema } },
  {
    method: 'post',
    path: '/v1/datasets/{id}/policy',
    summary: "The owner's signed policy update or revocation; applied by the worker's enclave and anchored on chain",
    auth: true,
    params: ['id'],
    request: { contentType: 'application/json', schema: SignedPolicyUpdateSchema },
    response: { status: 201, schema: z.object({ update: SignedPolicyUpdateSchema, ledgerSeq: z.number().int() }) },
  },
  { method: 'get', path: '/v1/datasets/{id}/policy', summary: 'The policy in force for a dataset, with its version', params: ['id'], response: { status: 200, schema: DatasetPolicyStateSchema } },
  {
    method: 'get',
    path: '/v1/datasets/{id}/budget',
    summary: "A dataset's privacy budget as its worker's enclave counts it (owner and allowed analysts only)",
    auth: true,
    params: ['id'],
    response: { status: 200, schema: DatasetBudgetSchema },
  },
  {
    method: 'post',
    path: '/v1/pipelines',
    summary: 'Store a pipeline under its canonical hash',
    auth: true,
    request: { contentType: 'application/json', schema: PipelineSubmissionSchema },
    response: { status: 201, schema: PipelineRecordSchema },
  },
  { method: 'get', path: '/v1/pipelines', summary: 'Stored pipelines', response: { status: 200, schema: list('pipelines', PipelineRecordSchema) } },
  { method: 'get', path: '/v1/pipelines/{hash}', summary: 'One pipeline', params: ['hash'], response: { status: 200, schema: PipelineRecordSchema } },
  {
    method: 'post',
    path: '/v1/jobs',
    summary: "Run a pipeline over datasets; checked before it is queued, and held (awaiting_approval) until the owners whose policy asks for it approve",
    auth: true,
    optionalQuery: { dry_run: '`true`: report every check and the privacy cost (200, a job preview) without queueing or touching data' },
    request: { contentType: 'application/json', schema: JobSubmissionSchema },
    response: { status: 202, schema: JobRecordSchema },
    alternative: { status: 200, schema: JobPreviewSchema, description: 'dry run: the checks and the privacy cost' },
  },
  { method: 'get', path: '/v1/jobs', summary: 'Jobs with status and progress', response: { status: 200, schema: list('jobs', JobRecordSchema) } },
  { method: 'get', path: '/v1/jobs/{id}', summary: 'One job', params: ['id'], response: { status: 200, schema: JobRecordSchema } },
  {
    method: 'get',
    path: '/v1/jobs/{id}/preview',
    summary: "What a job reads, outputs and spends, and every check: what an approving owner sees",
    params: ['id'],
    response: { status: 200, schema: JobPreviewSchema },
  },
  {
    method: 'post',
    path: '/v1/approvals',
    summary: "An owner's signed approval of a pipeline hash on a dataset; releases the jobs it completes",
    auth: true,
    request: { contentType: 'application/json', schema: SignedApprovalSchema },
    response: { status: 201, schema: z.object({ approval: SignedApprovalSchema, released: z.array(z.string()) }) },
  },
  {
    method: 'get',
    path: '/v1/approvals',
    summary: 'Jobs waiting for approvals, with their previews',
    optionalQuery: { owner: 'only jobs waiting for this owner (ss58 address)' },
    response: { status: 200, schema: list('pending', JobPreviewSchema) },
  },
  {
    method: 'get',
    path: '/v1/results',
    summary: 'Published results',
    response: { status: 200, schema: list('results', z.object({ id: z.string(), job: z.string(), pipeline: z.object({ name: z.string(), hash: z.string() }), createdAt: z.string(), simulated: z.boolean() })) },
  },
  { method: 'get', path: '/v1/results/{id}', summary: 'A signed result with its attestation and anchor', params: ['id'], response: { status: 200, schema: ResultDocumentSchema } },
  {
    method: 'get',
    path: '/v1/results/{id}/provenance',
    summary: "A result's provenance with the host's check of its chain anchor",
    params: ['id'],
    response: { status: 200, schema: z.object({ id: z.string(), hash: z.string(), anchorCheck: z.object({ ok: z.boolean() }).loose() }).loose() },
  },
  {
    method: 'post',
    path: '/v1/upgrades',
    summary: 'Anchor an authorisation of an enclave upgrade (operators only)',
    auth: true,
    request: { contentType: 'application/json', schema: UpgradeRequestSchema },
    response: { status: 201, schema: UpgradeAuthorizationSchema },
  },
  { method: 'get', path: '/v1/upgrades', summary: 'Anchored upgrade authorisations', response: { status: 200, schema: list('upgrades', UpgradeAuthorizationSchema) } },
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
      ...Object.entries(r.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: true, description, schema: { type: 'string' } })),
      ...Object.entries(r.optionalQuery ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } })),
    ];
    const problem = { description: 'Error', content: { 'application/problem+json': { schema: jsonSchema(ProblemSchema) } } };
    const item = paths[r.path] ?? {};
    paths[r.path] = item;
    item[r.method] = {
      summary: r.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(r.auth ? { security: [{ obscuraSignature: [] }] } : {}),
      ...(r.request ? { requestBody: { required: true, content: { [r.request.contentType]: { schema: jsonSchema(r.request.schema) } } } } : {}),
      responses: {
        [r.response.status]: { description: 'OK', content: { 'application/json': { schema: jsonSchema(r.response.schema) } } },
        ...(r.alternative
          ? { [r.alternative.status]: { description: r.alternative.description, content: { 'application/json': { schema: jsonSchema(r.alternative.schema) } } } }
          : {}),
        '4XX': problem,
        '5XX': problem,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Obscura', version: '0.1.0', description: 'Private, federated data analytics: sealed datasets, attested enclaves, anchored results.' },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      securitySchemes: {
        obscuraSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'obscura-signature',
          description: 'sr25519 signature of `obscura-request/1\\n<METHOD>\\n<path?query>\\n<obscura-timestamp>\\n<body sha256 hex>` by the account in `obscura-account`.',
        },
      },
    },
  };
}
