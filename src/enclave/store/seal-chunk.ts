/**
 * One column chunk of the store (format.ts) encoded and sealed: a string chunk with few
 * distinct values as a dictionary (dictionary.ts), else as its parsed type; the Arrow IPC
 * stream of it sealed range by range (ipc-parts.ts, seal.ts). The one copy of this step:
 * the store writer runs it on the enclave's thread (write.ts), the parse threads run it on
 * the pieces they parsed (csv-worker.ts), so a chunk's bytes are the same wherever it was
 * sealed (bar its random nonce).
 */
import type { Data } from 'apache-arrow';
import { tableFromBatches } from '../../data/columns.ts';
import type { DatasetSchema } from '../../data/schema.ts';
import { chunkTable, encodeStringChunk } from './dictionary.ts';
import { chunkAad } from './format.ts';
import { ipcParts } from './ipc-parts.ts';
import { sealRanges } from './seal.ts';

/** Where a chunk goes: its store's key and manifest hash, its index and the number of chunks. */
export interface ChunkPlace {
  key: Buffer;
  manifestHash: string;
  chunk: number;
  count: number;
}

/**
 * Column `c` (`spec`) of chunk `place.chunk`, whose rows are `parts` in order (slices of the
 * parsed pieces), sealed: nonce, ciphertext ranges, tag, for a vectored write.
 */
export function sealColumnChunk(
  place: ChunkPlace,
  c: number,
  spec: DatasetSchema[number],
  parts: readonly Data[],
): Buffer[] {
  // A string chunk with few distinct values is kept as a dictionary (dictionary.ts).
  const encoded = spec.type === 'string' ? encodeStringChunk(parts) : undefined;
  const table = encoded
    ? chunkTable(spec.name, encoded)
    : tableFromBatches(
        [spec.name],
        [{ type: spec.type }],
        parts.map((d) => ({ length: d.length, columns: [d] })),
      );
  // The IPC stream as ranges, most of them views of the parsed columns: sealed range by
  // range, so no joined copy of the chunk is made (ipc-parts.ts); the writer's own ranges
  // (string offsets rebased to the chunk, bitmaps, a dictionary) are wiped once sealed.
  const ipc = ipcParts(table);
  const aad = chunkAad(place.manifestHash, c, spec.name, place.chunk, place.count);
  const sealed = sealRanges(place.key, aad, ipc.parts);
  for (const copy of ipc.copies) copy.fill(0);
  return sealed;
}
