/**
 * Request and response bodies of the REST API that are not stored records. Routes parse
 * with these schemas and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { parseOrThrow } from '../common/validate.ts';

/** POST /v1/pipelines: a pipeline document as YAML/JSON text or as a JSON object. */
export const PipelineSubmissionSchema = z.object({
  document: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
});

/** POST /v1/jobs: run a pipeline (document or hash of a stored one) over datasets bound to its inputs. */
export const JobSubmissionSchema = z
  .object({
    pipeline: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    pipelineHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    inputs: z.record(z.string(), z.string().min(1)),
  })
  .refine((b) => (b.pipeline === undefined) !== (b.pipelineHash === undefined), {
    message: 'give exactly one of pipeline and pipelineHash',
  });
export type JobSubmission = z.infer<typeof JobSubmissionSchema>;

/** GET /v1/workers/{id}/attestation query. */
export const AttestationQuerySchema = z.object({
  nonce: z.string().regex(/^[0-9a-f]{64}$/, 'nonce must be 32 random bytes as 64 hex characters'),
});

/** GET /v1/health. */
export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  chain: z.object({ endpoint: z.string(), chainName: z.string(), block1Hash: z.string() }),
  workers: z.number().int(),
});

/** Parse `value` with `schema`, or throw a 400 'body_invalid' naming the first bad field. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown, what = 'request body'): T {
  return parseOrThrow(schema, value, { code: 'body_invalid', what });
}
