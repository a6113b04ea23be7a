/** Parsing untrusted result documents, and opening their outputs (kept apart from verify.ts, which loads the chain client). */
import { ObscuraError } from '../common/errors.ts';
import { parseOrThrow } from '../common/validate.ts';
import { openOutputs, type Outputs } from '../contracts/result-outputs.ts';
import { type ResultDocument, ResultDocumentSchema } from '../contracts/api-records.ts';

/** Parse an untrusted result document; throws 'result_invalid' naming the bad field. */
export function parseResultDocument(value: unknown): ResultDocument {
  return parseOrThrow(ResultDocumentSchema, value, { code: 'result_invalid', what: 'result document' });
}

/** The reader a sealed result is opened for: an account key (crypto/keys.ts), which keeps its identity inside. */
export interface ResultReaderKey {
  resultRecipient: string;
  decryptResult(ciphertext: Uint8Array): Promise<Buffer>;
}

/**
 * A result document's output tables: public ones as they are; sealed ones decrypted for
 * `reader` and checked against the hashes the enclave signed (result-outputs.ts). Without a
 * reader a sealed result throws key_required.
 */
export async function documentOutputs(
  doc: ResultDocument,
  reader: ResultReaderKey | undefined,
): Promise<Outputs> {
  const body = doc.signed.result;
  if (body.outputs.visibility === 'public') return body.outputs.tables;
  if (!reader)
    throw new ObscuraError(
      'key_required',
      "the result's outputs are sealed to its readers: give --key <key file> (the analyst who ran it or an owner of an input) or set OBSCURA_KEY",
      401,
    );
  return openOutputs(
    body,
    doc.ciphertext === undefined ? undefined : Buffer.from(doc.ciphertext, 'base64'),
    reader,
  );
}
