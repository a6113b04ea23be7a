/**
 * The enclave's columnar store: what it writes reads back column for column (only the
 * columns asked for), and every way a host could tamper with it — chunks swapped,
 * reordered, moved between columns or datasets, a file cut short, an index from another
 * store, another enclave's key — fails as store_corrupt naming only the place, never a
 * value. Nothing in the store's files is plaintext. A write that dies leaves no store. A
 * dataset streamed in pieces of any size is stored in whole chunks and read back in
 * pieces; a stream that fails its checks at the end leaves no store.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/index.ts';
import { type ParsedDataset, parseDataset } from '../../src/data/index.ts';
import { readStore, readStoreIndex, readStorePieces } from '../../src/enclave/store/read.ts';
import { corruptAt } from './fixtures/store-corrupt.ts';
import { writeStore, writeStoreFrom } from '../../src/enclave/store/write.ts';
import { checkPipeline, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-store-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const me = generateIdentity().identity;
const H = 'a'.repeat(64);

async function dataset(rows = 1000): Promise<ParsedDataset> {
  const lines = ['name,k,x,ok,day'];
  for (let i = 0; i < rows; i++)
    lines.push(`secret-${i},${i * 3},${i % 7 === 0 ? '' : i / 4},${i % 2 === 0},2024-01-${10 + (i % 20)}`);
  return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv');
}

async function open(dir: string, data: ParsedDataset, columns?: string[], hash = H, identity = me) {
  const index = await readStoreIndex(dir, 'd1', hash, identity);
  if (!index) throw new Error('no store');
  return readStore(dir, index, {
    dataset: 'd1',
    ageIdentity: identity,
    schema: data.schema,
    ...(columns ? { columns } : {}),
  });
}

describe('columnar store', () => {
  it('reads back what it wrote, only the columns asked for, and holds no plaintext', async () => {
    const data = await dataset();
    const dir = join(work, 's1');
    await writeStore(dir, data, H, me, 128);
    const all = await open(dir, data);
    expect(all.rows).toBe(1000);
    expect(all.table.toArray().map((r) => r.toJSON())).toEqual(data.table.toArray().map((r) => r.toJSON()));
    const two = await open(dir, data, ['x', 'name']);
    expect(two.table.schema.fields.map((f) => f.name)).toEqual(['name', 'k', 'x', 'ok', 'day']);
    expect(two.table.getChild('k')?.nullCount).toBe(1000);
    expect(two.table.getChild('x')?.toArray()).toEqual(data.table.getChild('x')?.toArray());
    expect(two.table.batches).toHaveLength(8);
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes('secret-')).toBe(false);
    expect(readdirSync(work).filter((f) => f.includes('staging'))).toEqual([]);
  });

  it('refuses swapped, reordered, moved and truncated chunks, foreign indexes and keys', async () => {
    const data = await dataset();
    const dir = join(work, 's2');
    await writeStore(dir, data, H, me, 128);
    const c1 = readFileSync(join(dir, 'c1'));
    const index = await readStoreIndex(dir, 'd1', H, me);
    const extents = index?.extents[1] as [number, number][];
    const [o0, l0] = extents[0] as [number, number];
    const [o1, l1] = extents[1] as [number, number];
    // Chunk 0 and 1 of column 1 swapped (equal lengths are not needed: the index says where each is).
    const swapped = Buffer.concat([c1.subarray(o1, o1 + l1), c1.subarray(o0, o0 + l0), c1.subarray(o1 + l1)]);
    writeFileSync(join(dir, 'c1'), swapped);
    expect(await corruptAt(() => open(dir, data, ['k']))).toMatch(/^column 1, chunk [01]$/);
    // Column 2's file in column 1's place.
    writeFileSync(join(dir, 'c1'), readFileSync(join(dir, 'c2')));
    expect(await corruptAt(() => open(dir, data, ['k']))).toMatch(/^column 1, chunk 0$/);
    // Cut short.
    writeFileSync(join(dir, 'c1'), c1.subarray(0, c1.length - 10));
    expect(await corruptAt(() => open(dir, data, ['k']))).toBe('column 1, chunk 7');
    writeFileSync(join(dir, 'c1'), c1);
    await open(dir, data, ['k']);
    // Another dataset's store (same enclave) under this dataset's name.
    const other = join(work, 's3');
    await writeStore(other, data, 'b'.repeat(64), me, 128);
    writeFileSync(join(dir, 'index'), readFileSync(join(other, 'index')));
    expect(await corruptAt(() => open(dir, data))).toBe('index');
    // Another enclave's key.
    expect(
      await corruptAt(() => open(other, data, undefined, 'b'.repeat(64), generateIdentity().identity)),
    ).toBe('index');
    // Untouched column files still open with the right index and key.
    expect((await open(other, data, ['ok'], 'b'.repeat(64))).rows).toBe(1000);
  });

  it('runs a pipeline on the columns it reads to what the parsed dataset gives', async () => {
    const data = await parseDataset(
      readFileSync(new URL('../../datasets/visits.csv', import.meta.url)),
      'csv',
    );
    const doc = parsePipeline(
      readFileSync(new URL('../../pipelines/cost-by-region.yaml', import.meta.url), 'utf8'),
    );
    const dir = join(work, 's4');
    await writeStore(dir, data, H, me, 500);
    const columns = checkPipeline(doc, { visits: data.schema }).inputs[0]?.columnsRead ?? [];
    expect(columns.length).toBeLessThan(data.schema.length);
    const stored = await open(dir, data, columns);
    expect((await runPipeline(doc, { visits: stored })).by_region).toEqual(
      (await runPipeline(doc, { visits: data })).by_region,
    );
  });

  it('a dataset with no store is no error: it is read from its sealed upload', async () => {
    expect(await readStoreIndex(join(work, 'none'), 'd1', H, me)).toBeUndefined();
    expect(existsSync(join(work, 'none'))).toBe(false);
  });

  it('stores a dataset streamed in uneven pieces and reads it back in pieces; a failed stream leaves none', async () => {
    const data = await dataset();
    const cuts = [0, 300, 301, 750, 1000];
    const pieces = async function* (fail = false) {
      for (let i = 0; i + 1 < cuts.length; i++) {
        const [a, b] = [cuts[i] as number, cuts[i + 1] as number];
        yield { table: data.table.slice(a, b), schema: data.schema, rows: b - a };
      }
      if (fail) throw new Error('plaintext hash mismatch at the end of the stream');
    };
    const dir = join(work, 's5');
    const shape = { schema: data.schema, rows: data.rows };
    expect(await writeStoreFrom(dir, shape, pieces(), H, me, 128)).toBe('written');
    const index = await readStoreIndex(dir, 'd1', H, me);
    expect(index?.chunks).toEqual([128, 128, 128, 128, 128, 128, 128, 104]);
    const all = await open(dir, data);
    expect(all.table.toArray().map((r) => r.toJSON())).toEqual(data.table.toArray().map((r) => r.toJSON()));
    const read = [];
    const opts = { dataset: 'd1', ageIdentity: me, schema: data.schema, columns: ['x'] };
    for await (const p of readStorePieces(dir, index as NonNullable<typeof index>, opts, 300)) read.push(p);
    expect(read.map((p) => p.rows)).toEqual([256, 256, 256, 232]);
    expect(read.flatMap((p) => [...(p.table.getChild('x')?.toArray() ?? [])])).toEqual([
      ...(data.table.getChild('x')?.toArray() ?? []),
    ]);
    // The stream's checks fail after the last piece: the error is the stream's, and no store is left.
    const failed = join(work, 's6');
    await expect(writeStoreFrom(failed, shape, pieces(true), H, me, 128)).rejects.toThrow(/at the end/);
    expect(existsSync(failed)).toBe(false);
    expect(readdirSync(work).filter((f) => f.includes('staging'))).toEqual([]);
    // Fewer rows than the manifest says: not written (and the caller's check reports it).
    expect(await writeStoreFrom(failed, { ...shape, rows: 1001 }, pieces(), H, me, 128)).toBeInstanceOf(
      Error,
    );
    expect(existsSync(failed)).toBe(false);
  });
});
