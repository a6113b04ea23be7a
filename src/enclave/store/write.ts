/**
 * Writing a dataset's store (format.ts) from its checked, parsed rows. The store is written
 * into a staging directory beside its place, each file fsync'd, then renamed into place in
 * one step: a crash leaves either no store (the dataset is read from its sealed upload, as
 * before the store existed) or a whole one, never half of one. Staging left by a crash is
 * removed by the next write.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tableToIPC } from 'apache-arrow';
import type { ParsedDataset } from '../../data/index.ts';
import { tableFromBatches } from '../../data/columns.ts';
import { chunkAad, indexAad, STORE_CHUNK_ROWS, STORE_FORMAT, type StoreIndex } from './format.ts';
import { storeKey } from './keys.ts';
import { sealPiece, sealPieceParts } from './seal.ts';

/**
 * Write the store of `data` (checked against the manifest hashing to `manifestHash`) at
 * `dir`, replacing any store there. `chunkRows` is for tests.
 */
export async function writeStore(
  dir: string,
  data: ParsedDataset,
  manifestHash: string,
  ageIdentity: string,
  chunkRows = STORE_CHUNK_ROWS,
): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const prefix = `${basename(dir)}.staging-`;
  for (const f of await readdir(parent))
    if (f.startsWith(prefix)) await rm(join(parent, f), { recursive: true, force: true });
  const staging = join(parent, `${prefix}${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    const key = storeKey(ageIdentity, manifestHash);
    const chunks: number[] = [];
    for (let at = 0; at < data.rows; at += chunkRows) chunks.push(Math.min(chunkRows, data.rows - at));
    const extents: [number, number][][] = [];
    for (const [c, spec] of data.schema.entries()) {
      const column = data.table.getChildAt(c);
      if (!column) throw new Error('column missing');
      const file = await open(join(staging, `c${c}`), 'wx', 0o600);
      const mine: [number, number][] = [];
      let offset = 0;
      try {
        let at = 0;
        for (const [j, rows] of chunks.entries()) {
          const slice = column.slice(at, at + rows);
          at += rows;
          const batches = slice.data.map((d) => ({ length: d.length, columns: [d] }));
          const ipc = tableToIPC(tableFromBatches([spec.name], [{ type: spec.type }], batches), 'stream');
          const parts = sealPieceParts(key, chunkAad(manifestHash, c, spec.name, j, chunks.length), ipc);
          ipc.fill(0);
          const length = parts.reduce((n, p) => n + p.length, 0);
          const { bytesWritten } = await file.writev(parts);
          if (bytesWritten !== length) throw new Error('short write');
          mine.push([offset, length]);
          offset += length;
        }
        await file.sync();
      } finally {
        await file.close();
      }
      extents.push(mine);
    }
    const index: StoreIndex = {
      format: STORE_FORMAT,
      manifestHash,
      schema: data.schema,
      rows: data.rows,
      chunks,
      extents,
    };
    const file = await open(join(staging, 'index'), 'wx', 0o600);
    try {
      await file.write(sealPiece(key, indexAad(manifestHash), Buffer.from(JSON.stringify(index))));
      await file.sync();
    } finally {
      await file.close();
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}
