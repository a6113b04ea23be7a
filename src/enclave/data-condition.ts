/**
 * What a job's failure makes public depends only on the pipeline and the schemas. Before
 * the enclave reads any plaintext, a refusal depends on the documents alone (the pipeline,
 * the owners' policies and schemas, the budget ledger) and keeps its precise code and
 * message. Once it has read the inputs, anything that goes wrong may depend on the rows
 * (too few rows to train on, a label value a classifier cannot take, a vocabulary too
 * large, a library's error), and its code, wording or even its class would tell the
 * analyst something about them: "1 rows to train on" named how many patients a filter
 * kept. So every such failure leaves the enclave as one code with one fixed message, in
 * its response, its log lines and its progress alike; the detailed reason stays inside.
 */
import { isObscuraError, ObscuraError } from '../common/errors.ts';

/** The one code of a failure after the enclave read data. */
export const DATA_CONDITION_CODE = 'job_data_condition';

/** Its one message: the same whatever the condition was. */
export const DATA_CONDITION_MESSAGE =
  'the job stopped on a condition of its data (such as too few rows for a model, or a value a model cannot take); which one is not disclosed, since that would tell something about the rows';

/**
 * Codes whose failures are data-free by construction and keep their own code and message
 * after data was read: a job limit or a cancellation (their messages name the limit, never
 * a count), and a damaged store (store_corrupt names the dataset, column and chunk that
 * did not authenticate: a fact about the ciphertext on the host's disk, found as a scan
 * reaches it, in order, whatever the rows).
 */
const DATA_FREE_CODES: ReadonlySet<string> = new Set([
  'job_limit_exceeded',
  'job_cancelled',
  'store_corrupt',
]);

/** The failure `e` as it may leave the enclave once data has been read. */
export function dataCondition(e: unknown): ObscuraError {
  if (isObscuraError(e) && (e.code === DATA_CONDITION_CODE || DATA_FREE_CODES.has(e.code))) return e;
  return new ObscuraError(DATA_CONDITION_CODE, DATA_CONDITION_MESSAGE, 422);
}

/** Run `fn`, which works on data already read; any failure becomes dataCondition(). */
export async function afterData<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw dataCondition(e);
  }
}
