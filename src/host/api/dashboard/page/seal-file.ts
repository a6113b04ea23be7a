/**
 * Sealing a CSV the owner picked, in one pass over the file as the browser streams it from
 * disk: each piece is inspected (schema and row count, the CLI's own CsvInspector), hashed
 * (the plaintext commitment) and sealed (age-seal.ts); the sealed chunks are hashed (the
 * ciphertext commitment) and gathered into Blobs a few MiB at a time.
 *
 * Memory: the page never holds the file whole, in plaintext or sealed: each plaintext piece
 * is wiped once sealed, and each batch of ciphertext is handed to the browser's blob store
 * (which moves large blobs to disk) and dropped from the page. The upload then sends the
 * sealed Blob from there. The limit is the browser's blob storage (Chromium: a share of the
 * free disk), not the page's heap.
 */
import { sha256 } from '@noble/hashes/sha2';
import { CsvInspector } from '../../../../data/csv-stream.ts';
import type { DatasetSchema } from '../../../../data/schema.ts';
import { AgeSealer } from './age-seal.ts';

/** Sealed bytes gathered before they become one Blob part. */
const BATCH_BYTES = 4 * 1024 * 1024;

/** A sealed file and the commitments its manifest records. */
export interface SealedCsv {
  sealed: Blob;
  schema: DatasetSchema;
  rows: number;
  plaintext: { sha256: string; bytes: number };
  ciphertext: { sha256: string; bytes: number };
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Hands sealed chunks to the blob store in batches, hashing them on the way. */
class SealedParts {
  readonly #hash = sha256.create();
  readonly #parts: Blob[] = [];
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  bytes = 0;

  add(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#batch.push(chunk);
    this.#batchBytes += chunk.length;
    this.bytes += chunk.length;
    if (this.#batchBytes >= BATCH_BYTES) this.flush();
  }

  flush(): void {
    if (this.#batch.length) this.#parts.push(new Blob(this.#batch as BlobPart[]));
    this.#batch = [];
    this.#batchBytes = 0;
  }

  finish(): { blob: Blob; sha256: string } {
    this.flush();
    return {
      blob: new Blob(this.#parts, { type: 'application/octet-stream' }),
      sha256: hex(this.#hash.digest()),
    };
  }
}

/**
 * Seal CSV `file` to the age `recipient`; `onProgress` is told the plaintext bytes done.
 * Throws the inspector's dataset_invalid error for a malformed CSV (nothing was sent).
 */
export async function sealCsv(
  file: Blob,
  recipient: string,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<SealedCsv> {
  const sealer = new AgeSealer([recipient]);
  const inspector = new CsvInspector();
  const plain = sha256.create();
  const out = new SealedParts();
  let plainBytes = 0;
  const reader = file.stream().getReader();
  try {
    out.add(sealer.prefix);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      inspector.push(value);
      plain.update(value);
      for (const chunk of sealer.push(value)) out.add(chunk);
      plainBytes += value.length;
      value.fill(0); // the piece is sealed: no plaintext lingers in the page
      onProgress?.(plainBytes, file.size);
    }
    out.add(sealer.end());
  } finally {
    sealer.wipe();
    await reader.cancel().catch(() => undefined); // ends the file's stream if sealing failed midway
  }
  const { schema, rows } = inspector.end();
  const sealed = out.finish();
  return {
    sealed: sealed.blob,
    schema,
    rows,
    plaintext: { sha256: hex(plain.digest()), bytes: plainBytes },
    ciphertext: { sha256: sealed.sha256, bytes: out.bytes },
  };
}
