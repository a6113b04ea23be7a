/**
 * Reading a dataset's store (format.ts): the index, then only the chunks of the columns a
 * job reads, each opened and checked against its place before its rows are used. Returns a
 * parsed dataset with one record batch per chunk, whose table holds those columns' values
 * and all-null (Null-typed) columns for the others; its schema is the whole dataset's,
 * checked against the manifest's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Data, makeData, Null, tableFromIPC } from 'apache-arrow';
import { canonicalJson } from '../../common/hash.ts';
import { tableFromBatches } from '../../data/columns.ts';
import type { ColumnType, DatasetSchema, ParsedDataset } from '../../data/index.ts';
import { chunkAad, indexAad, STORE_FORMAT, type StoreIndex, storeCorrupt } from './format.ts';
import { storeKey } from './keys.ts';
import { openPiece } from './seal.ts';

/**
 * Where the store of the dataset with this manifest hash is kept, beside its sealed upload
 * at `blobPath` (one directory per manifest: two datasets may share a sealed file).
 */
export function storePathFor(blobPath: string, manifestHash: string): string {
  return join(`${blobPath}.store`, manifestHash);
}

/** The index of the store at `dir`, or undefined when there is none; throws store_corrupt when it does not open. */
export async function readStoreIndex(
  dir: string,
  dataset: string,
  manifestHash: string,
  ageIdentity: string,
): Promise<StoreIndex | undefined> {
  let sealed: Buffer;
  try {
    sealed = await readFile(join(dir, 'index'));
  } catch {
    return undefined;
  }
  const plain = openPiece(storeKey(ageIdentity, manifestHash), indexAad(manifestHash), sealed);
  if (!plain) throw storeCorrupt(dataset, 'index');
  const index = JSON.parse(plain.toString('utf8')) as StoreIndex;
  const total = index.chunks.reduce((a, b) => a + b, 0);
  if (index.format !== STORE_FORMAT || index.manifestHash !== manifestHash || total !== index.rows)
    throw storeCorrupt(dataset, 'index');
  return index;
}

/**
 * The columns `columns` of the dataset in the store at `dir` (every column when omitted).
 * Throws store_corrupt naming the dataset, column and chunk that does not open, and
 * schema_mismatch when the store's schema is not `schema`.
 */
export async function readStore(
  dir: string,
  index: StoreIndex,
  opts: { dataset: string; ageIdentity: string; schema: DatasetSchema; columns?: readonly string[] },
): Promise<ParsedDataset> {
  const { dataset, ageIdentity } = opts;
  if (canonicalJson(index.schema) !== canonicalJson(opts.schema)) throw storeCorrupt(dataset, 'schema');
  const key = storeKey(ageIdentity, index.manifestHash);
  const wanted = index.schema
    .map((c, i) => ({ ...c, i }))
    .filter((c) => !opts.columns || opts.columns.includes(c.name));
  const perColumn: Data[][] = [];
  for (const col of wanted) {
    const extents = index.extents[col.i] ?? [];
    if (extents.length !== index.chunks.length) throw storeCorrupt(dataset, `column ${col.i}`);
    // One read per column file: the chunks of a column lie one after another.
    const file = await readFile(join(dir, `c${col.i}`)).catch(() => {
      throw storeCorrupt(dataset, `column ${col.i}`);
    });
    const datas: Data[] = [];
    for (const [j, [offset, length]] of extents.entries()) {
      const where = `column ${col.i}, chunk ${j}`;
      if (offset + length > file.length) throw storeCorrupt(dataset, where);
      const plain = openPiece(
        key,
        chunkAad(index.manifestHash, col.i, col.name, j, index.chunks.length),
        file.subarray(offset, offset + length),
      );
      if (!plain) throw storeCorrupt(dataset, where);
      const table = tableFromIPC(plain);
      const vector = table.getChildAt(0);
      if (!vector || table.numRows !== index.chunks[j] || table.schema.fields[0]?.name !== col.name)
        throw storeCorrupt(dataset, where);
      datas.push(...vector.data);
    }
    perColumn.push(datas);
  }
  // Chunks hold the same rows in every column. The table keeps every column in schema order
  // (the loader finds columns by position); columns not read are Null columns, never loaded.
  const batches = index.chunks.map((rows, j) => ({
    length: rows,
    columns: index.schema.map((_, c) => {
      const k = wanted.findIndex((w) => w.i === c);
      return k < 0
        ? makeData({ type: new Null(), length: rows })
        : pieceOf(perColumn[k] as Data[], index.chunks, j);
    }),
  }));
  const table = tableFromBatches(
    index.schema.map((c) => c.name),
    index.schema.map((c) => ({ type: c.type as ColumnType })),
    batches,
  );
  return { table, schema: opts.schema, rows: index.rows };
}

/** The Data of chunk j when each chunk came back as exactly one piece (the writer writes one batch per chunk). */
function pieceOf(datas: readonly Data[], chunks: readonly number[], j: number): Data {
  if (datas.length !== chunks.length) throw new Error('a store chunk came back in several batches');
  return datas[j] as Data;
}
