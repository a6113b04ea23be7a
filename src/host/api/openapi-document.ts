/**
 * The OpenAPI 3.1 document served at /v1/openapi.json, generated from the route table
 * (openapi.ts) and the zod schemas the routes parse and the store returns (zod 4's JSON
 * Schema output), so it cannot drift from the code. Every schema a route names is a named
 * component (a zod registry: the domain schemas by their names, a route's own list or body
 * by its operationId), referenced with $ref; the request signature is documented as three
 * header schemes required together.
 */
import { z } from 'zod';
import { WorkerRecordSchema } from '../../contracts/worker-record.ts';
import { ProblemSchema } from '../../contracts/problem.ts';
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
import {
  DatasetRecordSchema,
  JobRecordSchema,
  PipelineRecordSchema,
  ResultDocumentSchema,
  UpgradeAuthorizationSchema,
} from '../store/index.ts';
import { UpgradeRequestSchema } from './routes/upgrades.ts';
import { SignedManifestSchema } from '../../crypto/manifest.ts';
import { PAGE_DEFAULT, PAGE_MAX } from './paginate.ts';
import { ROUTES } from './openapi.ts';

/** The domain schemas, named as the document's components. */
const NAMED: [z.ZodType, string][] = [
  [HealthSchema, 'Health'],
  [WorkerRecordSchema, 'Worker'],
  [DatasetRecordSchema, 'DatasetRecord'],
  [DatasetPolicyStateSchema, 'DatasetPolicyState'],
  [DatasetBudgetSchema, 'DatasetBudget'],
  [PipelineRecordSchema, 'PipelineRecord'],
  [PipelineSubmissionSchema, 'PipelineSubmission'],
  [JobSubmissionSchema, 'JobSubmission'],
  [JobRecordSchema, 'JobRecord'],
  [JobPreviewSchema, 'JobPreview'],
  [ResultDocumentSchema, 'ResultDocument'],
  [SignedApprovalSchema, 'SignedApproval'],
  [SignedPolicyUpdateSchema, 'SignedPolicyUpdate'],
  [SignedManifestSchema, 'SignedManifest'],
  [EvidenceSchema, 'Evidence'],
  [UpgradeRequestSchema, 'UpgradeRequest'],
  [UpgradeAuthorizationSchema, 'UpgradeAuthorization'],
  [ProblemSchema, 'Problem'],
];

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The signature scheme: three headers, all required together (one security requirement). */
const SIGNATURE_HEADERS = {
  obscuraAccount: ['obscura-account', 'the signing account: an ss58 address (prefix 42)'],
  obscuraTimestamp: [
    'obscura-timestamp',
    'milliseconds since the Unix epoch; the host accepts a small clock skew and refuses a replayed signature',
  ],
  obscuraSignature: [
    'obscura-signature',
    'sr25519 signature (0x hex) by the account of `obscura-request/1\\n<METHOD>\\n<path?query>\\n<obscura-timestamp>\\n<body sha256 hex>`; a multipart upload signs the body hash `UNSIGNED-PAYLOAD` and says so in `obscura-body-sha256`',
  ],
} as const;
const SIGNED = Object.fromEntries(Object.keys(SIGNATURE_HEADERS).map((k) => [k, []]));

/** The OpenAPI document served at /v1/openapi.json. */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  const name = (schema: z.ZodType, fallback: string): string => {
    const known = names.get(schema);
    if (known) return known;
    names.set(schema, fallback);
    registry.add(schema, { id: fallback });
    return fallback;
  };
  for (const [schema, id] of NAMED) name(schema, id);
  const pageParameters = [
    {
      name: 'limit',
      in: 'query',
      required: false,
      description: `items per page (default ${PAGE_DEFAULT})`,
      schema: { type: 'integer', minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT },
    },
    {
      name: 'cursor',
      in: 'query',
      required: false,
      description: 'the `next` of the previous page',
      schema: { type: 'string' },
    },
  ];
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const op = capitalized(r.operationId);
    const isList = r.response.schema instanceof z.ZodObject && 'next' in r.response.schema.shape;
    const parameters = [
      ...(r.params ?? []).map((p) => ({ name: p, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(r.query ?? {}).map(([p, description]) => ({
        name: p,
        in: 'query',
        required: true,
        description,
        schema: { type: 'string' },
      })),
      ...Object.entries(r.optionalQuery ?? {}).map(([p, description]) => ({
        name: p,
        in: 'query',
        required: false,
        description,
        schema: { type: 'string' },
      })),
      ...(isList ? pageParameters : []),
    ];
    const problem = {
      description: 'A problem document (RFC 9457) with a stable `code`',
      content: { 'application/problem+json': { schema: ref('Problem') } },
    };
    const item = paths[r.path] ?? {};
    paths[r.path] = item;
    item[r.method] = {
      operationId: r.operationId,
      tags: [r.tag],
      summary: r.summary,
      ...(parameters.length ? { parameters } : {}),
      // `optional`: an unsigned request is answered too, with public items only.
      security: r.access.auth === 'none' ? [] : r.access.auth === 'optional' ? [{}, SIGNED] : [SIGNED],
      'x-obscura-access': r.access.who,
      ...(r.request
        ? {
            requestBody: {
              required: true,
              content: { [r.request.contentType]: { schema: ref(name(r.request.schema, `${op}Request`)) } },
            },
          }
        : {}),
      responses: {
        [r.response.status]: {
          description: 'OK',
          content: { 'application/json': { schema: ref(name(r.response.schema, `${op}Response`)) } },
        },
        ...(r.alternative
          ? {
              [r.alternative.status]: {
                description: r.alternative.description,
                content: {
                  'application/json': { schema: ref(name(r.alternative.schema, `${op}Alternative`)) },
                },
              },
            }
          : {}),
        '4XX': problem,
        '5XX': problem,
      },
    };
  }
  const generated = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: 'output',
    unrepresentable: 'any',
  }) as { schemas: Record<string, Record<string, unknown>> };
  // Components are embedded in the document: their own $id and $schema would rebase their refs.
  const schemas = Object.fromEntries(
    Object.entries(generated.schemas).map(([id, { $id: _id, $schema: _schema, ...rest }]) => [id, rest]),
  );
  const tags = [...new Set(ROUTES.map((r) => r.tag))].map((t) => ({ name: t, description: `${t} routes` }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Obscura',
      version: '0.1.0',
      description: 'Private, federated data analytics: sealed datasets, attested enclaves, anchored results.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: serverUrl }],
    tags,
    paths,
    components: {
      schemas,
      securitySchemes: Object.fromEntries(
        Object.entries(SIGNATURE_HEADERS).map(([k, [header, description]]) => [
          k,
          { type: 'apiKey', in: 'header', name: header, description },
        ]),
      ),
    },
  };
}
