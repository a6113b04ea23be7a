/** Parsing untrusted result documents (kept apart from verify.ts, which loads the chain client). */
import { ObscuraError } from '../common/errors.ts';
import { type ResultDocument, ResultDocumentSchema } from '../store/records.ts';

/** Parse an untrusted result document; throws 'result_invalid' naming the bad field. */
export function parseResultDocument(value: unknown): ResultDocument {
  const parsed = ResultDocumentSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ObscuraError('result_invalid', `result document is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, 400);
  }
  return parsed.data;
}
