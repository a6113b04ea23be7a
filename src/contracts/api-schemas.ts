/**
 * Request and response bodies of the REST API that are not stored records. Routes parse
 * with these schemas and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { parseOrThrow } from '../common/validate.ts';
import { DatasetPolicySchema } from '../privacy/policy.ts';
import { SignedPolicyUpdateSchema } from '../privacy/statements.ts';
import { SignedJobRequestSchema } from '../privacy/job-request.ts';
import { JobStatusSchema } from './api-records.ts';

/** POST /v1/pipelines: a pipeline document as YAML/JSON text or as a JSON object. */
export const PipelineSubmissionSchema = z.object({
  document: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
});

/** POST /v1/jobs: run a pipeline (document or hash of a stored one) over datasets bound to its inputs. */
export const JobSubmissionSchema = z
  .object({
    pipeline: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    pipelineHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    /** Dataset id per input; a list of ids on different workers trains federated (train outputs only). */
    inputs: z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1)).min(2).max(16)])),
    /** What the analyst wants the result for; shown to owners asked to approve the pipeline. */
    purpose: z.string().max(2000).optional(),
    /**
     * The analyst's signed job request for exactly this pipeline, these datasets and this
     * purpose; required to run (not for `dry_run`). The enclave takes the analyst from it.
     */
    request: SignedJobRequestSchema.optional(),
  })
  .refine((b) => (b.pipeline === undefined) !== (b.pipelineHash === undefined), {
    message: 'give exactly one of pipeline and pipelineHash',
  });
export type JobSubmission = z.infer<typeof JobSubmissionSchema>;

/** POST /v1/jobs query: `dry_run=true` assesses the job without queueing it. */
export const JobQuerySchema = z.object({ dry_run: z.enum(['true', 'false']).optional() });

/** The outcome of one check of a job (dry run and approval preview). */
export const JobCheckSchema = z.object({
  check: z.string(),
  ok: z.boolean(),
  /** The error code the job would be refused with. */
  code: z.string().optional(),
  detail: z.string(),
});
export type JobCheck = z.infer<typeof JobCheckSchema>;

const ColumnUsesSchema = z.object({
  filter: z.array(z.string()),
  derive: z.array(z.string()),
  group_by: z.array(z.string()),
  join_on: z.array(z.string()),
  aggregate: z.array(z.string()),
  feature: z.array(z.string()),
  label: z.array(z.string()),
  output: z.array(z.string()),
});
const CostSchema = z.object({ epsilon: z.number().nonnegative(), delta: z.number().nonnegative() });

/**
 * What a job would do, without touching data: the response of a dry run, and what an owner
 * sees before approving (`GET /v1/jobs/{id}/preview`).
 */
export const JobPreviewSchema = z.object({
  /** Set when the preview is of a submitted job. */
  job: z.string().optional(),
  analyst: z.string(),
  purpose: z.string().optional(),
  /** A submitted job's signed request: approvers check the analyst and purpose they approve against it. */
  request: SignedJobRequestSchema.optional(),
  pipeline: z.object({ hash: z.string(), name: z.string(), document: z.unknown() }),
  inputs: z.array(
    z.object({
      name: z.string(),
      dataset: z.string(),
      datasetName: z.string(),
      owner: z.string(),
      /** Columns of this dataset the job loads. */
      columnsRead: z.array(z.string()),
      /** How it uses them (restricted uses, as policies name them). */
      uses: ColumnUsesSchema,
      approval: z.enum(['not_needed', 'pending', 'approved']),
      /** The privacy budget this job charges this dataset. */
      cost: CostSchema,
    }),
  ),
  outputs: z.array(
    z.object({ step: z.string(), columns: z.array(z.string()), minGroupSize: z.number().int() }),
  ),
  /** Total privacy cost of the job. */
  cost: CostSchema,
  checks: z.array(JobCheckSchema),
  /** What passes the checks but deserves a look: e.g. an input open to differencing (no DP, filters allowed). */
  warnings: z.array(z.object({ code: z.string(), input: z.string().optional(), detail: z.string() })),
  /** True when every check passed: the job would run now. */
  ok: z.boolean(),
});
export type JobPreview = z.infer<typeof JobPreviewSchema>;

const BudgetAmountSchema = z.object({
  total: z.number().nullable(),
  spent: z.number(),
  remaining: z.number().nullable(),
});
/** GET /v1/datasets/{id}/budget: totals from the policy (null: no limit), spent and remaining, and the anchored spends. */
export const DatasetBudgetSchema = z.object({
  dataset: z.string(),
  epsilon: BudgetAmountSchema,
  delta: BudgetAmountSchema,
  spends: z.array(
    z.object({
      seq: z.number().int(),
      job: z.string(),
      epsilon: z.number(),
      delta: z.number(),
      blockNumber: z.number().int(),
      blockHash: z.string(),
    }),
  ),
});
export type DatasetBudget = z.infer<typeof DatasetBudgetSchema>;

/** GET /v1/datasets/{id}/policy: the policy in force (version 1 is the manifest's). */
export const DatasetPolicyStateSchema = z.object({
  dataset: z.string(),
  version: z.number().int().min(1),
  revoked: z.boolean(),
  policy: DatasetPolicySchema.optional(),
  update: SignedPolicyUpdateSchema.optional(),
});
export type DatasetPolicyState = z.infer<typeof DatasetPolicyStateSchema>;

/** GET /v1/approvals query. */
export const ApprovalsQuerySchema = z.object({ owner: z.string().min(1).optional() });

/** POST /v1/jobs/{id}/refusal body: an owner's refusal of a job waiting for their approval, and why. */
export const JobRefusalSchema = z.object({
  reason: z
    .string()
    .trim()
    .min(1, 'say why the job is refused (the analyst reads it)')
    .max(500)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'the reason is one line of text'),
});

/** GET /v1/jobs query: `status` keeps the jobs in one state (besides `limit` and `cursor`). */
export const JobsQuerySchema = z.object({ status: JobStatusSchema.optional() });

/** GET /v1/workers/{id}/attestation query. */
export const AttestationQuerySchema = z.object({
  nonce: z.string().regex(/^[0-9a-f]{64}$/, 'nonce must be 32 random bytes as 64 hex characters'),
  /** `true`: relay Intel collateral for a hardware quote, so the caller can verify it without reaching Intel. */
  collateral: z.enum(['true', 'false']).optional(),
});

/**
 * GET /v1/health. `degraded` names what is wrong (`chain`: unreachable, or the last anchor
 * attempt failed; `worker:<id>`: its enclave is not running); jobs and uploads that need it
 * wait or fail with a reason meanwhile, and the rest of the API keeps answering.
 */
export const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  degraded: z.array(z.string()),
  chain: z.object({
    endpoint: z.string(),
    chainName: z.string(),
    block1Hash: z.string(),
    /** Whether the chain answered just now. */
    reachable: z.boolean(),
    /** Since when anchoring has failed, and why (absent while anchors go through). */
    outage: z.object({ since: z.string(), reason: z.string() }).optional(),
  }),
  workers: z.number().int(),
  anchoring: z.object({
    /** Anchors (results, ledger entries) waiting for the chain now. */
    waiting: z.number().int(),
    /** Whether the host is still resuming what the last stop left unanchored. */
    recovering: z.boolean(),
  }),
});
export type Health = z.infer<typeof HealthSchema>;

/** Parse `value` with `schema`, or throw a 400 'body_invalid' naming the first bad field. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown, what = 'request body'): T {
  return parseOrThrow(schema, value, { code: 'body_invalid', what });
}
