/**
 * The `obscura` package's library entry (`import { ObscuraClient } from 'obscura'`): the
 * signed API client, account keys, and the types of what the API answers.
 */
export { ObscuraClient, type WaitOptions } from './client.ts';
export type { JobSubmissionInput } from './job-request.ts';
export { type AccountKey, createKeyFile, loadAccountKey } from '../crypto/keys.ts';
export { isObscuraError, ObscuraError } from '../common/errors.ts';
export type { DatasetBudget, JobPreview } from '../contracts/api-schemas.ts';
export type {
  DatasetRecord,
  JobRecord,
  JobStatus,
  PipelineRecord,
  ResultDocument,
} from '../contracts/api-records.ts';
export type { OutputTable } from '../contracts/result.ts';
