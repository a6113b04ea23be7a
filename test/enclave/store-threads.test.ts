/**
 * The store's chunks opened on its decryption threads (store/decrypt-pool.ts) read back
 * exactly what the calling thread opens: the same rows, the same pipeline results bit for
 * bit, and the same store_corrupt for a tampered chunk (the first one, naming only the
 * place), with nothing of a failed read returned. Pieces read ahead give the same rows, and
 * a piece whose memory was reused for a later one no longer reads, never giving the later rows.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/index.ts';
import { type ParsedDataset, parseDataset } from '../../src/data/index.ts';
import {
  type ReadStoreOptions,
  readStore,
  readStoreIndex,
  readStorePieces,
  releaseStoreRead,
} from '../../src/enclave/store/read.ts';
import { corruptAt } from './fixtures/store-corrupt.ts';
import { writeStore } from '../../src/enclave/store/write.ts';
import { checkPipeline, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-store-threads-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const me = generateIdentity().identity;
const H = 'e'.repeat(64);

async function dataset(rows = 1000): Promise<ParsedDataset> {
  const lines = ['name,k,x,ok'];
  for (let i = 0; i < rows; i++)
    lines.push(`secret-${i % 37},${i * 3},${i % 7 === 0 ? '' : i / 4},${i % 2 === 0}`);
  return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv');
}

async function read(dir: string, data: ParsedDataset, threads: boolean, columns?: string[], identity = me) {
  const index = await readStoreIndex(dir, 'd1', H, identity);
  if (!index) throw new Error('no store');
  return readStore(dir, index, {
    dataset: 'd1',
    ageIdentity: identity,
    schema: data.schema,
    threads,
    ...(columns ? { columns } : {}),
  });
}

const rowsOf = (d: ParsedDataset) =>
  d.table.toArray().map((r) => JSON.stringify(r.toJSON(), (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));

describe('store read on the decryption threads', () => {
  it('reads back what the calling thread reads, every column or some, and runs a pipeline to the same result', async () => {
    const data = await dataset(3000);
    const dir = join(work, 't1');
    await writeStore(dir, data, H, me, 128);
    expect(rowsOf(await read(dir, data, true))).toEqual(rowsOf(data));
    const some = await read(dir, data, true, ['x', 'name']);
    expect(rowsOf(some)).toEqual(rowsOf(await read(dir, data, false, ['x', 'name'])));
    expect(some.table.getChild('k')?.nullCount).toBe(3000);

    const visits = await parseDataset(
      readFileSync(new URL('../../datasets/visits.csv', import.meta.url)),
      'csv',
    );
    const doc = parsePipeline(
      readFileSync(new URL('../../pipelines/cost-by-region.yaml', import.meta.url), 'utf8'),
    );
    const vdir = join(work, 't2');
    await writeStore(vdir, visits, H, me, 500);
    const columns = checkPipeline(doc, { visits: visits.schema }).inputs[0]?.columnsRead ?? [];
    const [threaded, here] = [
      await runPipeline(doc, { visits: await read(vdir, visits, true, columns) }),
      await runPipeline(doc, { visits: await read(vdir, visits, false, columns) }),
    ];
    expect(JSON.stringify(threaded)).toBe(JSON.stringify(here));
  });

  it('refuses a tampered, cut or foreign chunk as the calling thread does, naming the first', async () => {
    const data = await dataset(3000);
    const dir = join(work, 't3');
    await writeStore(dir, data, H, me, 128);
    const c2 = readFileSync(join(dir, 'c2'));
    const index = await readStoreIndex(dir, 'd1', H, me);
    if (!index) throw new Error('no store');
    const [o5, l5] = (index.extents[2] as [number, number][])[5] as [number, number];
    const flipped = Buffer.from(c2);
    flipped[o5 + l5 - 20] = (flipped[o5 + l5 - 20] as number) ^ 1;
    writeFileSync(join(dir, 'c2'), flipped);
    for (const threads of [true, false])
      expect(await corruptAt(() => read(dir, data, threads, ['k', 'x']))).toBe('column 2, chunk 5');
    writeFileSync(join(dir, 'c2'), c2.subarray(0, c2.length - 10));
    for (const threads of [true, false])
      expect(await corruptAt(() => read(dir, data, threads, ['x']))).toBe(
        `column 2, chunk ${index.chunks.length - 1}`,
      );
    writeFileSync(join(dir, 'c2'), c2);
    expect(rowsOf(await read(dir, data, true))).toEqual(rowsOf(data));
    // Another enclave's identity: the index already does not open.
    expect(await corruptAt(() => read(dir, data, true, undefined, generateIdentity().identity))).toBe(
      'index',
    );
  });

  it('reads pieces ahead to the same rows; a piece whose memory went to a later one no longer reads', async () => {
    const data = await dataset(3000);
    const dir = join(work, 't4');
    await writeStore(dir, data, H, me, 128);
    const index = await readStoreIndex(dir, 'd1', H, me);
    if (!index) throw new Error('no store');
    const opts = (threads: boolean): ReadStoreOptions => ({
      dataset: 'd1',
      ageIdentity: me,
      schema: data.schema,
      columns: ['k', 'name'],
      threads,
    });
    const values = async (threads: boolean) => {
      const out: unknown[][] = [];
      const held: ParsedDataset[] = [];
      for await (const p of readStorePieces(dir, index, opts(threads), 500)) {
        out.push(
          [...(p.table.getChild('k')?.toArray() ?? [])],
          [...(p.table.getChild('name')?.toArray() ?? [])],
        );
        held.push(p);
      }
      return { out, held };
    };
    const threaded = await values(true);
    expect(threaded.out).toEqual((await values(false)).out);
    expect(threaded.out.flat().length).toBe(6000);
    // The first piece's buffers were lent to the third: reading it fails, never gives the third's rows.
    let first: unknown[] = [];
    try {
      first = [...(threaded.held[0]?.table.getChild('k')?.toArray() ?? [])];
    } catch {}
    const third = threaded.out[4] as unknown[];
    expect(first.some((v, i) => v === third[i])).toBe(false);
  });

  it('a read given back lends its memory to the next read, and never shows it the rows it had', async () => {
    const a = await dataset(3000);
    const b = await dataset(2000);
    const [da, db] = [join(work, 't5'), join(work, 't6')];
    await writeStore(da, a, H, me, 128);
    await writeStore(db, b, H, me, 128);
    const first = await read(da, a, true, ['k']);
    const before = [...(first.table.getChild('k')?.toArray() ?? [])];
    releaseStoreRead(first);
    releaseStoreRead(first);
    const second = await read(db, b, true, ['k']);
    expect(rowsOf(second)).toEqual(rowsOf(await read(db, b, false, ['k'])));
    let after: unknown[] = [];
    try {
      after = [...(first.table.getChild('k')?.toArray() ?? [])];
    } catch {}
    expect(after).not.toEqual(before);
    expect(after.length).toBeLessThan(before.length);
    // A read on the calling thread has nothing to give back.
    releaseStoreRead(await read(db, b, false, ['k']));
  });
});
