/** Parsing untrusted result documents (kept apart from verify.ts, which loads the chain client). */
import { parseOrThrow } from '../common/validate.ts';
import { type ResultDocument, ResultDocumentSchema } from '../store/records.ts';

/** Parse an untrusted result document; throws 'result_invalid' naming the bad field. */
export function parseResultDocument(value: unknown): ResultDocument {
  return parseOrThrow(ResultDocumentSchema, value, { code: 'result_invalid', what: 'result document' });
}
