/**
 * An upload checked and stored in one go (validate_dataset, for a dataset not streamed): the
 * sealed file decrypted and hashed by the block threads (kept between uploads) into a buffer
 * also kept (plaintext-buffer.ts), the CSV parsed in pieces by the
 * parse threads (csv-pieces.ts) while this thread writes the store from the pieces already
 * parsed (store/write.ts). Before, the parse and then the store write ran one after the
 * other on this thread, with the second core idle (BENCHMARKS.md "Enclave store"). The
 * checks and their order are openSealedInput's: the decryption and both hashes, the CSV
 * against the owner-signed schema (errors name the row in the whole file), the row count;
 * a dataset failing any of them leaves no store. Other formats are opened whole, then stored.
 */
import { ObscuraError } from '../common/errors.ts';
import { manifestHash } from '../crypto/manifest.ts';
import type { ParsedDataset } from '../data/schema.ts';
import type { SealedInput } from '../contracts/enclave-protocol.ts';
import { joinPieces, PARSE_PIECE_BYTES, parseCsvPieces } from './csv-pieces.ts';
import { startCsvWorkers } from './csv-workers.ts';
import { givePlaintextBuffer } from './plaintext-buffer.ts';
import {
  assertInputAccepted,
  assertSignedSchema,
  decryptSealedInput,
  type OpenContext,
  type OpenedDataset,
  openSealedInput,
} from './datasets.ts';
import { keepStore, keepStoreFrom } from './store/open.ts';

/**
 * Check a sealed input end to end and write its store; returns the opened dataset and
 * whether its store was written (a failure to write is not the dataset's: it is then read
 * from its sealed upload). Throws ObscuraError naming the failed check.
 */
export async function ingestSealedInput(
  input: SealedInput,
  ctx: OpenContext,
): Promise<{ opened: OpenedDataset; stored: boolean }> {
  const { manifest } = input.manifest;
  if (manifest.format !== 'csv') {
    const opened = await openSealedInput(input, ctx);
    return { opened, stored: await keepStore(input, opened, ctx) };
  }
  assertInputAccepted(input, ctx);
  // The parse threads start (once) while the file is decrypted.
  if (manifest.plaintext.bytes >= 2 * PARSE_PIECE_BYTES) void startCsvWorkers();
  const plaintext = await decryptSealedInput(input, ctx);
  const pieces: ParsedDataset[] = [];
  // Set once the parse threads have wiped the plaintext (csv-pieces.ts).
  const wiped = { done: false };
  const checked = async function* (): AsyncGenerator<ParsedDataset> {
    try {
      for await (const piece of parseCsvPieces(plaintext, manifest.schema, PARSE_PIECE_BYTES, wiped)) {
        assertSignedSchema(piece, input);
        pieces.push(piece);
        yield piece;
      }
    } finally {
      // Wiped (here, unless the parse threads did), and kept for the next upload (plaintext-buffer.ts).
      givePlaintextBuffer(plaintext, wiped.done);
    }
    const rows = pieces.reduce((n, p) => n + p.rows, 0);
    if (rows !== manifest.rows)
      throw new ObscuraError(
        'row_count_mismatch',
        `dataset ${input.datasetId} has ${rows} rows, its manifest says ${manifest.rows}`,
        422,
      );
  };
  const stored = await keepStoreFrom(input, ctx, checked());
  const data = joinPieces(manifest.schema, pieces);
  return {
    opened: {
      datasetId: input.datasetId,
      manifest: input.manifest,
      manifestHash: manifestHash(manifest),
      data,
    },
    stored,
  };
}
