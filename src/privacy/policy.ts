/**
 * The dataset policy (docs/policies.md, "Dataset policy"): what an owner allows to be
 * done with a dataset. It travels in the owner-signed manifest (`policy`), so the host can
 * neither widen nor drop it, and is enforced by the host on submission and again inside
 * the enclave (enforce.ts). Unknown keys are refused: a misspelt limit must not be
 * silently dropped. Parsing is idempotent (the parsed form is what the owner signs).
 */
import { z } from 'zod';
import { AttestationPolicySchema } from '../attestation/policy.ts';
import { parseDocumentValue, parseYamlText, readDocumentFile } from '../common/yaml-document.ts';
import { isValidAddress } from '../crypto/keys.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a pipeline hash as 64 lower-case hex characters');
const column = z.string().min(1).max(256);
const columns = z.array(column).max(4096);

/** A dataset policy document, version 1. */
export const DatasetPolicySchema = z.strictObject({
  'obscura-policy': z.literal(1, { error: 'expected obscura-policy: 1' }),
  /** Analysts allowed (by ss58 address), or "*" for anyone; absent: the manifest's analysts decide alone. */
  analysts: z
    .array(
      z.union([z.literal('*'), z.string().refine(isValidAddress, 'expected an ss58 account address or "*"')]),
    )
    .min(1)
    .optional(),
  /** `any` (default), `approval`, or the hashes of the only pipelines allowed. */
  pipelines: z.union([z.literal('any'), z.literal('approval'), z.array(sha256).min(1)]).optional(),
  /**
   * Each list, when present, is the only columns allowed for that use (`filter`: in filters
   * and derives; absent, every column but never_output ones); never_output always applies:
   * such a column is never output, filtered on or derived from.
   */
  columns: z
    .strictObject({
      group_by: columns.optional(),
      aggregate: columns.optional(),
      join_on: columns.optional(),
      filter: columns.optional(),
      never_output: columns.optional(),
    })
    .optional(),
  /** Distinct rows of this dataset behind each output row and each histogram cell. */
  min_group_size: z.number().int().min(1).max(1_000_000).optional(),
  /** The most cells a released histogram over this dataset may have (default 100, see enforce.ts). */
  max_histogram_bins: z.number().int().min(1).max(100_000).optional(),
  /** Differential privacy: the dataset's total budget (enforced by the enclave's ledger), the most one job may spend, and whether every output must be DP. */
  dp: z
    .strictObject({
      epsilon: z.number().positive().max(100).optional(),
      delta: z.number().min(0).lt(1).optional(),
      max_epsilon_per_job: z.number().positive().max(100).optional(),
      required: z.boolean().optional(),
    })
    .optional(),
  models: z.strictObject({ release: z.enum(['metrics', 'weights']) }).optional(),
  /**
   * `private` (default): only the analyst who ran a job and the owners of its inputs read it
   * and its result; `public`: anyone may, where the pipeline asks for `visibility: public`.
   */
  results: z.enum(['private', 'public']).optional(),
  /** After this instant no job may use the dataset. */
  expires: z.iso.datetime({ offset: true }).optional(),
  /** The attestation policy the owner sealed under. */
  attestation: AttestationPolicySchema.optional(),
});
export type DatasetPolicy = z.infer<typeof DatasetPolicySchema>;

const KIND = { code: 'dataset_policy_invalid', what: 'dataset policy' };

/** Validate a parsed value as a dataset policy; throws 'dataset_policy_invalid' (400) naming each bad path. */
export function parseDatasetPolicyValue(value: unknown, source = 'dataset policy'): DatasetPolicy {
  return parseDocumentValue(DatasetPolicySchema, value, KIND, source);
}

/** Parse a dataset policy from YAML (or JSON) text. */
export function parseDatasetPolicy(text: string, source = 'dataset policy'): DatasetPolicy {
  return parseDatasetPolicyValue(parseYamlText(text, KIND, source), source);
}

/** Read and parse a dataset policy file. */
export async function loadDatasetPolicy(path: string): Promise<DatasetPolicy> {
  return parseDatasetPolicy(await readDocumentFile(path, KIND), path);
}
