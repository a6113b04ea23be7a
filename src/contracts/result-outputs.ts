/**
 * A result's outputs sealed to its readers: done inside the enclave (sealOutputs), undone on
 * a reader's own machine (openOutputs: `obscura result`, `obscura verify --key`, the
 * dashboard proxy). The host in between carries an age file and the hashes the enclave
 * signed, so it can check that it serves the right bytes but cannot read them.
 *
 * Readers are the analyst who signed the job request (with the recipient in that request)
 * and the owners of its inputs who signed a recipient into their manifests: both recipients
 * come from statements the enclave verified, never from the host.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import { canonicalJson, sha256Hex } from '../common/hash.ts';
import { encryptToBuffer } from '../crypto/age/encrypt.ts';
import {
  isDpOutput,
  type OutputTable,
  OutputTableSchema,
  type ResultBody,
  type ResultReader,
  type SealedOutputs,
} from './result.ts';

/** A result's output tables by output name. */
export type Outputs = Record<string, OutputTable>;

/** What the ciphertext holds; the salt keeps its hash from confirming a guessed aggregate. */
const OutputsPlaintextSchema = z.object({
  obscura: z.literal('result-outputs/1'),
  salt: z.string().regex(/^[0-9a-f]{64}$/),
  outputs: z.record(z.string(), OutputTableSchema),
});

/**
 * The readers of a job's result: the analyst, then each input owner who signed a recipient
 * into the manifest, each recipient once (an analyst who owns an input is listed as analyst).
 */
export function resultReaders(
  analyst: { account: string; recipient: string },
  owners: { account: string; recipient?: string | undefined }[],
): ResultReader[] {
  const readers: ResultReader[] = [
    { role: 'analyst', account: analyst.account, recipient: analyst.recipient },
  ];
  for (const o of owners) {
    if (o.recipient && !readers.some((r) => r.recipient === o.recipient))
      readers.push({ role: 'owner', account: o.account, recipient: o.recipient });
  }
  return readers;
}

/** Seal `outputs` to `readers`: what the signed body says of them, and the age file. */
export async function sealOutputs(
  outputs: Outputs,
  readers: ResultReader[],
): Promise<{ sealed: SealedOutputs; ciphertext: Buffer }> {
  const plaintext = Buffer.from(
    canonicalJson({ obscura: 'result-outputs/1', salt: randomBytes(32).toString('hex'), outputs }),
    'utf8',
  );
  try {
    const ciphertext = await encryptToBuffer(
      readers.map((r) => r.recipient),
      plaintext,
    );
    return {
      sealed: {
        visibility: 'sealed',
        names: Object.keys(outputs),
        dp: Object.entries(outputs)
          .filter(([, t]) => isDpOutput(t))
          .map(([name]) => name),
        ciphertextSha256: sha256Hex(ciphertext),
        plaintextSha256: sha256Hex(plaintext),
        readers,
      },
      ciphertext,
    };
  } finally {
    plaintext.fill(0);
  }
}

/** Throw result_ciphertext_mismatch unless `ciphertext` is the one the enclave signed for. */
export function assertCiphertext(sealed: SealedOutputs, ciphertext: Uint8Array): void {
  if (sha256Hex(ciphertext) !== sealed.ciphertextSha256) {
    throw new ObscuraError(
      'result_ciphertext_mismatch',
      "the result's ciphertext does not match the hash the enclave signed (altered or swapped)",
      422,
    );
  }
}

/**
 * The output tables of a result: the public tables as they are, or the sealed ones
 * decrypted with `reader` (an account key's decryptResult) and checked against both hashes
 * the enclave signed. Throws result_ciphertext_missing, result_ciphertext_mismatch,
 * result_not_a_reader (403: the key is none of the readers) or result_plaintext_mismatch.
 */
export async function openOutputs(
  body: ResultBody,
  ciphertext: Uint8Array | undefined,
  reader: { resultRecipient: string; decryptResult(c: Uint8Array): Promise<Buffer> },
): Promise<Outputs> {
  const out = body.outputs;
  if (out.visibility === 'public') return out.tables;
  if (!ciphertext)
    throw new ObscuraError(
      'result_ciphertext_missing',
      'the result is sealed to its readers but came without its ciphertext',
      422,
    );
  assertCiphertext(out, ciphertext);
  if (!out.readers.some((r) => r.recipient === reader.resultRecipient)) {
    throw new ObscuraError(
      'result_not_a_reader',
      "this key is not among the result's readers (the job's analyst and the owners of its inputs)",
      403,
    );
  }
  let plaintext: Buffer;
  try {
    plaintext = await reader.decryptResult(ciphertext);
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    throw new ObscuraError(
      'result_not_a_reader',
      `this key cannot open the result's ciphertext (${e.code})`,
      403,
    );
  }
  if (sha256Hex(plaintext) !== out.plaintextSha256) {
    throw new ObscuraError(
      'result_plaintext_mismatch',
      'the decrypted outputs do not match the plaintext hash the enclave signed',
      422,
    );
  }
  const parsed = OutputsPlaintextSchema.safeParse(JSON.parse(plaintext.toString('utf8')));
  if (
    !parsed.success ||
    canonicalJson(Object.keys(parsed.data.outputs).sort()) !== canonicalJson([...out.names].sort())
  ) {
    throw new ObscuraError(
      'result_plaintext_mismatch',
      'the decrypted outputs are not the ones the result names',
      422,
    );
  }
  const dp = Object.entries(parsed.data.outputs)
    .filter(([, t]) => isDpOutput(t))
    .map(([name]) => name);
  if (canonicalJson(dp.sort()) !== canonicalJson([...out.dp].sort())) {
    throw new ObscuraError(
      'result_plaintext_mismatch',
      'the decrypted outputs are not released under the differential privacy the result names',
      422,
    );
  }
  return parsed.data.outputs;
}

/**
 * Whether a job's outputs may leave in the clear: the pipeline asks for `visibility: public`
 * and the policy in force of every input says `results: public` (the owners consented).
 */
export function outputsArePublic(
  visibility: 'private' | 'public' | undefined,
  policies: ({ results?: 'private' | 'public' | undefined } | undefined)[],
): boolean {
  return visibility === 'public' && policies.every((p) => p?.results === 'public');
}

/** What the signed body says of a job's outputs (sealed to `readers` unless `open`), and the ciphertext when sealed. */
export async function releaseOutputs(
  outputs: Outputs,
  how: { open: boolean; readers: ResultReader[] },
): Promise<{ outputs: ResultBody['outputs']; ciphertext?: Buffer }> {
  if (how.open) return { outputs: { visibility: 'public', tables: outputs } };
  const { sealed, ciphertext } = await sealOutputs(outputs, how.readers);
  return { outputs: sealed, ciphertext };
}
