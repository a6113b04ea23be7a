/**
 * What a read of the store asks of its index and what it checks of each chunk it opens, for
 * both readers: the whole read (read.ts readStore) and the read a chunk at a time as DuckDB
 * scans (read-rows.ts storeRows), so the two cannot check a chunk differently.
 */
import { type Data, tableFromIPC } from 'apache-arrow';
import { canonicalJson } from '../../common/hash.ts';
import type { DatasetSchema } from '../../data/index.ts';
import { chunkAad, type StoreIndex, storeCorrupt } from './format.ts';

/** A column a read wants: its place `i` in the schema, its name and type. */
export interface WantedColumn {
  i: number;
  name: string;
  type: string;
}

/**
 * The columns `columns` of the store (every one when omitted), in schema order. Throws
 * store_corrupt when the store's schema is not `schema` (the manifest's).
 */
export function wantedColumns(
  index: StoreIndex,
  dataset: string,
  schema: DatasetSchema,
  columns?: readonly string[],
): WantedColumn[] {
  if (canonicalJson(index.schema) !== canonicalJson(schema)) throw storeCorrupt(dataset, 'schema');
  return index.schema.map((c, i) => ({ ...c, i })).filter((c) => !columns || columns.includes(c.name));
}

/**
 * Where chunk `j` of column `col` lies in its file and the additional data its seal names.
 * Throws store_corrupt when the index lacks the column's chunks.
 */
export function chunkPlace(
  index: StoreIndex,
  dataset: string,
  col: WantedColumn,
  j: number,
): { offset: number; length: number; aad: Buffer } {
  const extents = index.extents[col.i] ?? [];
  if (extents.length !== index.chunks.length) throw storeCorrupt(dataset, `column ${col.i}`);
  const [offset, length] = extents[j] as [number, number];
  return { offset, length, aad: chunkAad(index.manifestHash, col.i, col.name, j, index.chunks.length) };
}

/**
 * Chunk `j` of column `col` from its plaintext: its Arrow data, one per part (a chunk written
 * from several streamed pieces has several). Throws store_corrupt naming only the place when
 * it is not that chunk (rows, column name) or not Arrow at all.
 */
export function decodeChunk(
  plain: Uint8Array,
  index: StoreIndex,
  dataset: string,
  col: WantedColumn,
  j: number,
): Data[] {
  const corrupt = () => storeCorrupt(dataset, `column ${col.i}, chunk ${j}`);
  let datas: Data[];
  try {
    const table = tableFromIPC(plain);
    const vector = table.getChildAt(0);
    if (!vector || table.numRows !== index.chunks[j] || table.schema.fields[0]?.name !== col.name)
      throw corrupt();
    datas = [...vector.data];
  } catch {
    throw corrupt();
  }
  return datas;
}
