/**
 * The enclave's columnar dataset store, format 1: a dataset the enclave has checked kept as
 * encrypted column chunks, so that a job decrypts only the columns and chunks it reads and
 * never parses CSV again. Everything in it is ciphertext under a key only this enclave
 * identity can derive (keys.ts); the host stores it and can learn only sizes.
 *
 * A store is one directory:
 * - `index`: the sealed index — the format, the manifest hash, the schema, the row count,
 *   each chunk's row count, and each column chunk's byte offset and length.
 * - `c<i>`: column i's chunks one after another, each an Arrow IPC stream of that column's
 *   rows in the chunk, sealed with AES-256-GCM: a random 12-byte nonce, the ciphertext and
 *   its 16-byte tag.
 *
 * Each sealed piece's additional data names what it is: the format, the manifest hash, and
 * for a chunk the column's index and name, the chunk's index and the number of chunks. So
 * a chunk moved to another place, another column or another dataset, a store cut short or
 * an index from another store fails to open (store_corrupt), naming the dataset, column and
 * chunk — never a value.
 */
import { ObscuraError } from '../../common/errors.ts';

/** The store format this code writes and reads. */
export const STORE_FORMAT = 'obscura-store/1';

/** Rows per chunk (a job reads whole chunks: the unit of what it decrypts). */
export const STORE_CHUNK_ROWS = 1 << 17;

/** The sealed index of a store. */
export interface StoreIndex {
  format: typeof STORE_FORMAT;
  manifestHash: string;
  schema: { name: string; type: string }[];
  rows: number;
  /** Rows of each chunk, in order. */
  chunks: number[];
  /** Per column, per chunk: [offset, length] of the sealed chunk in the column's file. */
  extents: [number, number][][];
}

/** Additional data of the index. */
export function indexAad(manifestHash: string): Buffer {
  return Buffer.from(`${STORE_FORMAT}|index|${manifestHash}`);
}

/** Additional data of chunk `chunk` of `count` of column `column` (index and name). */
export function chunkAad(
  manifestHash: string,
  column: number,
  name: string,
  chunk: number,
  count: number,
): Buffer {
  return Buffer.from(
    `${STORE_FORMAT}|chunk|${manifestHash}|${column}|${JSON.stringify(name)}|${chunk}|${count}`,
  );
}

/** The one failure of reading a store: data-free, naming where. */
export function storeCorrupt(dataset: string, where: string): ObscuraError {
  return new ObscuraError(
    'store_corrupt',
    `the enclave's store of dataset ${dataset} is damaged (${where})`,
    422,
    {
      dataset,
      where,
    },
  );
}
