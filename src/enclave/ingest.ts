/**
 * An upload checked and stored in one go (validate_dataset, for a dataset not streamed): the
 * sealed file decrypted and hashed by the block threads (kept between uploads), the CSV
 * parsed in pieces by the parse threads (csv-pieces.ts). A CSV in the plain form is cut as
 * it is decrypted into pieces of one store chunk each (csv-row-cuts.ts), which the thread
 * that parsed a piece also seals (csv-worker.ts), so this thread only writes the sealed
 * chunks (store/write.ts); otherwise this thread writes the store from the pieces already
 * parsed, cutting it by row count. Before, the parse and then the store write ran one after
 * the other on this thread, with the second core idle (BENCHMARKS.md "Enclave store"). The
 * checks and their order are openSealedInput's: the decryption and both hashes, the CSV
 * against the owner-signed schema (errors name the row in the whole file), the row count;
 * a dataset failing any of them leaves no store. Other formats are opened whole, then stored.
 */
import { ObscuraError } from '../common/errors.ts';
import { manifestHash } from '../crypto/manifest.ts';
import type { ParsedDataset } from '../data/schema.ts';
import type { SealedInput } from '../contracts/enclave-protocol.ts';
import { joinPieces, MIN_THREADED_BYTES, PARSE_PIECE_BYTES, parseCsvPieces } from './csv-pieces.ts';
import { RowCuts } from './csv-row-cuts.ts';
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
import { STORE_CHUNK_ROWS } from './store/format.ts';
import { storeKey } from './store/keys.ts';
import { keepStore, keepStoreFrom } from './store/open.ts';
import type { StorePiece } from './store/write.ts';

/** The store's key in shared memory, for the parse threads to seal with (the caller wipes it). */
function sharedStoreKey(ageIdentity: string, hash: string): Buffer {
  const derived = storeKey(ageIdentity, hash);
  const key = Buffer.from(new SharedArrayBuffer(derived.length));
  key.set(derived);
  derived.fill(0);
  return key;
}

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
  // Cut into pieces of a store chunk's rows (csv-row-cuts.ts, as the blocks are decrypted),
  // each sealed as one chunk by the thread that parsed it: this thread only writes
  // (write.ts pieceChunks). Else (a small CSV, or one not in the plain form) parsed as
  // before and written in chunks of STORE_CHUNK_ROWS rows, as a stream's pieces are.
  const cuts = manifest.plaintext.bytes >= MIN_THREADED_BYTES ? new RowCuts(STORE_CHUNK_ROWS) : undefined;
  const plaintext = await decryptSealedInput(input, ctx, cuts && ((block, at) => cuts.feed(block, at)));
  const hash = manifestHash(manifest);
  const plan = plaintext.buffer instanceof SharedArrayBuffer ? cuts?.plan(plaintext.length) : undefined;
  const key = plan ? sharedStoreKey(ctx.ageIdentity, hash) : undefined;
  const pieces: ParsedDataset[] = [];
  const checked = async function* (): AsyncGenerator<StorePiece> {
    try {
      const opts = { ...(plan ? { plan } : {}), ...(key ? { seal: { key, manifestHash: hash } } : {}) };
      for await (const piece of parseCsvPieces(plaintext, manifest.schema, PARSE_PIECE_BYTES, opts)) {
        assertSignedSchema(piece, input);
        const { sealed, ...parsed } = piece;
        pieces.push(parsed);
        yield piece;
      }
    } finally {
      // Wiped, and kept for the next upload (plaintext-buffer.ts).
      givePlaintextBuffer(plaintext);
    }
    const rows = pieces.reduce((n, p) => n + p.rows, 0);
    if (rows !== manifest.rows)
      throw new ObscuraError(
        'row_count_mismatch',
        `dataset ${input.datasetId} has ${rows} rows, its manifest says ${manifest.rows}`,
        422,
      );
  };
  let stored: boolean;
  try {
    stored = await keepStoreFrom(input, ctx, checked(), plan?.ranges.length);
  } finally {
    key?.fill(0);
  }
  const data = joinPieces(manifest.schema, pieces);
  return {
    opened: {
      datasetId: input.datasetId,
      manifest: input.manifest,
      manifestHash: hash,
      data,
    },
    stored,
  };
}
