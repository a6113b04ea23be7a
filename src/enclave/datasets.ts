/**
 * Opening a sealed dataset inside the enclave: every claim of the (untrusted) host and of
 * the manifest is checked before a row is used. The ciphertext must hash to what the owner
 * signed, the owner's signature must verify, the file must be sealed to this enclave and
 * this enclave's measurement must be one the owner accepts; after decryption the plaintext
 * hash, schema and row count must match the manifest. Plaintext stays in memory.
 */
import { readFile } from 'node:fs/promises';
import { ObscuraError } from '../common/errors.ts';
import { canonicalJson, sha256Hex } from '../common/hash.ts';
import { decryptToBuffer } from '../crypto/age/decrypt.ts';
import { assertManifestSignature, manifestHash, type SignedManifest } from '../crypto/manifest.ts';
import { type ParsedDataset, parseDataset } from '../data/index.ts';
import type { SealedInput } from '../contracts/enclave-protocol.ts';

/** What the enclave knows about itself when opening a dataset. */
export interface OpenContext {
  ageIdentity: string;
  recipient: string;
  measurement: string;
}

/** A dataset opened inside the enclave. */
export interface OpenedDataset {
  datasetId: string;
  manifest: SignedManifest;
  manifestHash: string;
  data: ParsedDataset;
}

/**
 * The owner's terms of a sealed input that this enclave must meet before it reads it in any
 * form (its sealed upload or its store): the owner's signature, this enclave as the
 * recipient, and this enclave's measurement among those the owner accepts.
 */
export function assertInputAccepted(input: SealedInput, ctx: OpenContext): void {
  const { manifest } = input.manifest;
  assertManifestSignature(input.manifest);
  if (manifest.worker.recipient !== ctx.recipient) {
    throw new ObscuraError(
      'dataset_wrong_recipient',
      `dataset ${input.datasetId} is sealed to another enclave`,
      422,
    );
  }
  if (!manifest.measurements.includes(ctx.measurement)) {
    throw new ObscuraError(
      'measurement_not_accepted',
      `the owner of dataset ${input.datasetId} does not accept this enclave's measurement ${ctx.measurement}`,
      403,
    );
  }
}

/**
 * Every check of a sealed input that needs no decryption (owner's signature, recipient,
 * accepted measurement, ciphertext present and hashing to the manifest); returns the
 * ciphertext. Nothing here depends on the data, so a job that spends budget runs it before
 * it commits the spend: an input that is bad on its face costs nothing.
 */
export async function readSealedInput(input: SealedInput, ctx: OpenContext): Promise<Buffer> {
  const { manifest } = input.manifest;
  assertInputAccepted(input, ctx);
  let ciphertext: Buffer;
  try {
    ciphertext = await readFile(input.blobPath);
  } catch (e) {
    throw new ObscuraError(
      'dataset_blob_missing',
      `ciphertext of dataset ${input.datasetId} is missing`,
      500,
      undefined,
      { cause: e },
    );
  }
  if (sha256Hex(ciphertext) !== manifest.ciphertext.sha256) {
    throw new ObscuraError(
      'ciphertext_hash_mismatch',
      `ciphertext of dataset ${input.datasetId} does not match its manifest`,
      422,
    );
  }
  return ciphertext;
}

/** Check a sealed input end to end and return its rows; throws ObscuraError naming the failed check. */
export async function openSealedInput(input: SealedInput, ctx: OpenContext): Promise<OpenedDataset> {
  const { manifest } = input.manifest;
  const ciphertext = await readSealedInput(input, ctx);
  const plaintext = await decryptToBuffer([ctx.ageIdentity], ciphertext);
  if (sha256Hex(plaintext) !== manifest.plaintext.sha256) {
    throw new ObscuraError(
      'plaintext_hash_mismatch',
      `plaintext of dataset ${input.datasetId} does not match the SHA-256 in its manifest`,
      422,
    );
  }
  // Parsed against the owner-signed schema, so a mismatch is caught as the data is read.
  const data = await parseDataset(plaintext, manifest.format, { schema: manifest.schema });
  plaintext.fill(0);
  if (canonicalJson(data.schema) !== canonicalJson(manifest.schema)) {
    throw new ObscuraError(
      'schema_mismatch',
      `schema of dataset ${input.datasetId} differs from its manifest`,
      422,
    );
  }
  if (data.rows !== manifest.rows) {
    throw new ObscuraError(
      'row_count_mismatch',
      `dataset ${input.datasetId} has ${data.rows} rows, its manifest says ${manifest.rows}`,
      422,
    );
  }
  return { datasetId: input.datasetId, manifest: input.manifest, manifestHash: manifestHash(manifest), data };
}
