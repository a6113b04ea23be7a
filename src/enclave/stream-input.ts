/**
 * Reading a sealed CSV dataset larger than memory: the ciphertext streams from disk
 * through the age decryption, hashed on both sides, and is cut into chunks of whole rows
 * that are parsed against the owner-signed schema by the parse threads, a few chunks ahead
 * of the consumer. Only those few chunks of plaintext are in memory at once and none is
 * ever written anywhere. The checks of
 * openSealedInput all hold, at the end of the stream: the ciphertext and plaintext hash to
 * what the manifest says and the row count matches — so a caller must release nothing
 * computed from the chunks until the generator has finished without throwing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import { unsealedBlocks } from '../crypto/age/unseal-file.ts';
import type { SealStats } from '../crypto/age/seal-file.ts';
import type { Manifest } from '../crypto/manifest.ts';
import { csvChunks } from '../data/csv-chunks.ts';
import type { ParsedDataset } from '../data/index.ts';
import type { SealedInput } from '../contracts/enclave-protocol.ts';
import { MIN_THREADED_BYTES, parseCsvStream } from './csv-pieces.ts';
import { startCsvWorkers } from './csv-workers.ts';
import { assertInputAccepted, assertSignedSchema, blobMissing, type OpenContext } from './datasets.ts';

/** Plaintext bytes per chunk at most: large enough that a chunk's fixed cost (a DuckDB run and its checks, ~25 ms) is noise. */
export const STREAM_CHUNK_BYTES = 8 * 1024 * 1024;

/** Plaintext bytes per chunk under a memory limit: a thirty-second of it, at most STREAM_CHUNK_BYTES. */
export function streamChunkBytes(memoryBytes: number): number {
  return Math.min(STREAM_CHUNK_BYTES, Math.max(1024 * 1024, Math.floor(memoryBytes / 32)));
}

/**
 * Whether a dataset is read in chunks rather than whole: a CSV whose plaintext is more
 * than an eighth of the job's memory (parsed columns, DuckDB's copy and the query take
 * several times the file). Decided from the manifest alone, which is public.
 */
export function streamsInput(manifest: Manifest, memoryBytes: number): boolean {
  return manifest.format === 'csv' && manifest.plaintext.bytes > memoryBytes / 8;
}

/** The checks of readSealedInput without holding the ciphertext: the signature, recipient, measurement and hash. */
export async function checkSealedInputStreaming(input: SealedInput, ctx: OpenContext): Promise<void> {
  const { manifest } = input.manifest;
  assertInputAccepted(input, ctx);
  const hash = createHash('sha256');
  for await (const piece of readBlob(input)) hash.update(piece as Buffer);
  if (hash.digest('hex') !== manifest.ciphertext.sha256) {
    throw new ObscuraError(
      'ciphertext_hash_mismatch',
      `ciphertext of dataset ${input.datasetId} does not match its manifest`,
      422,
    );
  }
}

async function* readBlob(input: SealedInput): AsyncGenerator<Buffer> {
  try {
    for await (const piece of createReadStream(input.blobPath, { highWaterMark: 1024 * 1024 }))
      yield piece as Buffer;
  } catch (e) {
    if (isObscuraError(e)) throw e;
    throw new ObscuraError(
      'dataset_blob_missing',
      `ciphertext of dataset ${input.datasetId} is missing`,
      500,
      undefined,
      {
        cause: e,
      },
    );
  }
}

/** `blocks`, with a file that cannot be read reported as dataset_blob_missing (age errors pass through). */
async function* blobErrors(input: SealedInput, blocks: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* blocks;
  } catch (e) {
    throw blobMissing(input, e);
  }
}

/**
 * The rows of a sealed CSV dataset, as parsed chunks of about `chunkBytes` of plaintext.
 * Throws (after the last chunk, at the latest) what openSealedInput throws for a dataset
 * that is not what its owner signed; CSV errors name the row in the whole file.
 */
export async function* streamSealedCsv(
  input: SealedInput,
  ctx: OpenContext,
  chunkBytes = STREAM_CHUNK_BYTES,
): AsyncGenerator<ParsedDataset> {
  const { manifest } = input.manifest;
  assertInputAccepted(input, ctx);
  if (chunkBytes >= MIN_THREADED_BYTES) void startCsvWorkers();
  // Decrypted in worker threads that hash both sides as they go (crypto/age/unseal-file.ts),
  // with no hashing pass of the ciphertext before: that pass was a read of the whole file
  // on this thread with nothing else to do. Its one purpose, the first error's code, is kept
  // by checking the ciphertext when the stream fails (below); nothing computed from the
  // chunks may be released before the generator finishes in any case.
  let stats: SealStats | null = null;
  // Each block wiped once csvChunks, which copies it into its chunk first, asks for the next.
  const plaintext = blobErrors(
    input,
    unsealedBlocks(
      input.blobPath,
      [ctx.ageIdentity],
      (s) => {
        stats = s;
      },
      { reuse: true },
    ),
  );
  let rows = 0;
  // Parsed by the parse threads a few chunks ahead of the consumer (csv-pieces.ts), each
  // chunk copied out before the next is cut. csvChunks' reuse of its buffer overwrites or
  // zeroes every byte of a chunk once the next is asked for (and the rest when it ends), so
  // the chunks are not wiped again here (a pass over the whole plaintext on this thread).
  const chunks = csvChunks(plaintext, chunkBytes);
  try {
    for await (const data of parseCsvStream(chunks, manifest.schema)) {
      assertSignedSchema(data, input);
      rows += data.rows;
      yield data;
    }
  } catch (e) {
    // A file that is not the one its owner signed says so before why it does not decrypt
    // or parse: the error a check of the ciphertext before decrypting would have given.
    if (!isObscuraError(e, 'dataset_blob_missing')) await checkSealedInputStreaming(input, ctx);
    throw e;
  }
  const opened = stats as SealStats | null;
  if (opened?.ciphertextSha256 !== manifest.ciphertext.sha256) {
    throw new ObscuraError(
      'ciphertext_hash_mismatch',
      `ciphertext of dataset ${input.datasetId} does not match its manifest`,
      422,
    );
  }
  if (opened.plaintextSha256 !== manifest.plaintext.sha256) {
    throw new ObscuraError(
      'plaintext_hash_mismatch',
      `plaintext of dataset ${input.datasetId} does not match the SHA-256 in its manifest`,
      422,
    );
  }
  if (rows !== manifest.rows) {
    throw new ObscuraError(
      'row_count_mismatch',
      `dataset ${input.datasetId} has ${rows} rows, its manifest says ${manifest.rows}`,
      422,
    );
  }
}
