/**
 * Opening a sealed dataset inside the enclave: every claim of the (untrusted) host and of
 * the manifest is checked before a row is used. The ciphertext must hash to what the owner
 * signed, the owner's signature must verify, the file must be sealed to this enclave and
 * this enclave's measurement must be one the owner accepts; after decryption the plaintext
 * hash, schema and row count must match the manifest. Plaintext stays in memory.
 */
import { readFile, stat } from 'node:fs/promises';
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import { canonicalJson, sha256Hex } from '../common/hash.ts';
import type { SealStats } from '../crypto/age/seal-file.ts';
import { unsealFile } from '../crypto/age/unseal-file.ts';
import { assertManifestSignature, manifestHash, type SignedManifest } from '../crypto/manifest.ts';
import { type ParsedDataset, parseDataset } from '../data/index.ts';
import type { SealedInput } from '../contracts/enclave-protocol.ts';
import { givePlaintextBuffer, takePlaintextBuffer } from './plaintext-buffer.ts';

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
    throw blobMissing(input, e);
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

/** A fs error (the blob cannot be read) as dataset_blob_missing; anything else as it is. */
export function blobMissing(input: SealedInput, e: unknown): unknown {
  if (isObscuraError(e) || typeof (e as { syscall?: unknown })?.syscall !== 'string') return e;
  return new ObscuraError(
    'dataset_blob_missing',
    `ciphertext of dataset ${input.datasetId} is missing`,
    500,
    undefined,
    { cause: e },
  );
}

/**
 * The plaintext of a sealed input whose terms were checked, matching both hashes its
 * manifest names. Decrypted and hashed in one read of the file by two worker threads
 * (crypto/age/unseal-file.ts) into one buffer, rather than the file read whole, hashed,
 * decrypted and hashed again on this thread, whose large heap made the cipher's per-chunk
 * buffers expensive (BENCHMARKS.md "Sealing"). The errors are readSealedInput's, in the
 * same order: a file that does not decrypt is first compared with the signed hash. The
 * plaintext is in a SharedArrayBuffer (unless the file held more than its manifest says).
 * The caller gives the buffer back with givePlaintextBuffer (plaintext-buffer.ts), which wipes it.
 */
export async function decryptSealedInput(input: SealedInput, ctx: OpenContext): Promise<Buffer> {
  const { manifest } = input.manifest;
  let plain: Buffer | null = null;
  const extra: Buffer[] = [];
  let at = 0;
  let stats: SealStats;
  try {
    // The plaintext is shorter than the file: the signed length, capped by the file's size.
    const { size } = await stat(input.blobPath);
    // Shared memory, so that the parse threads read the pieces of it in place (csv-pieces.ts).
    // Kept from the last upload when it fits (plaintext-buffer.ts): fresh memory costs page faults.
    const into = takePlaintextBuffer(Math.min(manifest.plaintext.bytes, size));
    plain = into;
    stats = await unsealFile(input.blobPath, [ctx.ageIdentity], {
      onBlock: (block) => {
        if (at + block.length <= into.length) block.copy(into, at);
        else extra.push(Buffer.from(block));
        at += block.length;
      },
    });
  } catch (e) {
    if (plain) givePlaintextBuffer(plain);
    for (const b of extra) b.fill(0);
    const err = blobMissing(input, e);
    // Not the file the owner signed says more than why it does not decrypt.
    if (!isObscuraError(err, 'dataset_blob_missing')) await readSealedInput(input, ctx);
    throw err;
  }
  const wipe = (): void => {
    if (plain) givePlaintextBuffer(plain);
    for (const b of extra) b.fill(0);
  };
  if (stats.ciphertextSha256 !== manifest.ciphertext.sha256) {
    wipe();
    throw new ObscuraError(
      'ciphertext_hash_mismatch',
      `ciphertext of dataset ${input.datasetId} does not match its manifest`,
      422,
    );
  }
  if (stats.plaintextSha256 !== manifest.plaintext.sha256) {
    wipe();
    throw new ObscuraError(
      'plaintext_hash_mismatch',
      `plaintext of dataset ${input.datasetId} does not match the SHA-256 in its manifest`,
      422,
    );
  }
  if (extra.length === 0) return plain.subarray(0, at);
  const whole = Buffer.concat([plain, ...extra]);
  wipe();
  return whole;
}

/** Throw schema_mismatch unless `data` (a whole dataset or a piece of one) has the schema its owner signed. */
export function assertSignedSchema(data: Pick<ParsedDataset, 'schema'>, input: SealedInput): void {
  if (canonicalJson(data.schema) !== canonicalJson(input.manifest.manifest.schema)) {
    throw new ObscuraError(
      'schema_mismatch',
      `schema of dataset ${input.datasetId} differs from its manifest`,
      422,
    );
  }
}

/** Check a sealed input end to end and return its rows; throws ObscuraError naming the failed check. */
export async function openSealedInput(input: SealedInput, ctx: OpenContext): Promise<OpenedDataset> {
  const { manifest } = input.manifest;
  assertInputAccepted(input, ctx);
  const plaintext = await decryptSealedInput(input, ctx);
  // Parsed against the owner-signed schema, so a mismatch is caught as the data is read.
  let data: ParsedDataset;
  try {
    data = await parseDataset(plaintext, manifest.format, { schema: manifest.schema });
  } finally {
    givePlaintextBuffer(plaintext);
  }
  assertSignedSchema(data, input);
  if (data.rows !== manifest.rows) {
    throw new ObscuraError(
      'row_count_mismatch',
      `dataset ${input.datasetId} has ${data.rows} rows, its manifest says ${manifest.rows}`,
      422,
    );
  }
  return { datasetId: input.datasetId, manifest: input.manifest, manifestHash: manifestHash(manifest), data };
}
