/**
 * A store read a chunk at a time as DuckDB scans it (store/read-rows.ts, decrypt-stream.ts):
 * the same rows and pipeline results, bit for bit, as a whole read, on the threads or this
 * thread; a job's first run on a dataset (the warm cache's fill) and a job the cache has no
 * room for read it that way; a damaged chunk fails the job as store_corrupt naming only the
 * place, even though it is found while the job runs, and even when a query stopped
 * scanning before it; the plaintext memory of a pass is reused, never shown to a
 * later pass as rows.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/common/hash.ts';
import { generateIdentity } from '../../src/crypto/index.ts';
import { releaseScans } from '../../src/data/duckdb-scan.ts';
import {
  dropWarm,
  finishScans,
  type ParsedDataset,
  parseDataset,
  scanIntoDuckDB,
  type WarmInput,
  warmKey,
} from '../../src/data/index.ts';
import { dataCondition } from '../../src/enclave/data-condition.ts';
import { type ReadStoreOptions, readStore, readStoreIndex } from '../../src/enclave/store/read.ts';
import { storeRows } from '../../src/enclave/store/read-rows.ts';
import { writeStore } from '../../src/enclave/store/write.ts';
import { checkPipeline, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { corruptAt } from './fixtures/store-corrupt.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-store-rows-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const me = generateIdentity().identity;
const H = 'a'.repeat(64);
const BUDGET = { warmCacheBytes: 2 ** 24 };

const visitsCsv = readFileSync(new URL('../../datasets/visits.csv', import.meta.url));
const doc = parsePipeline(
  readFileSync(new URL('../../pipelines/cost-by-region.yaml', import.meta.url), 'utf8'),
);

async function stored(name: string): Promise<{ dir: string; data: ParsedDataset; opts: ReadStoreOptions }> {
  const data = await parseDataset(visitsCsv, 'csv');
  const dir = join(work, name);
  // Small chunks, so a pass spans many, some of them plain strings and some dictionaries.
  await writeStore(dir, data, H, me, 300);
  const columns = checkPipeline(doc, { visits: data.schema }).inputs[0]?.columnsRead ?? [];
  return { dir, data, opts: { dataset: 'd1', ageIdentity: me, schema: data.schema, columns } };
}

async function warmInput(dir: string, opts: ReadStoreOptions, chunked = true): Promise<WarmInput> {
  const index = await readStoreIndex(dir, 'd1', H, me);
  if (!index) throw new Error('no store');
  const key = warmKey(H, sha256Hex(canonicalJson(index)));
  return {
    kind: 'warm',
    key,
    schema: opts.schema,
    rows: index.rows,
    read: () => readStore(dir, index, opts),
    ...(chunked ? { chunked: () => storeRows(dir, index, opts) } : {}),
  };
}

describe('store rows read as DuckDB scans them', () => {
  it('give the rows and results of a whole read, on the threads and on this thread', async () => {
    const { dir, opts } = await stored('r1');
    const index = await readStoreIndex(dir, 'd1', H, me);
    if (!index) throw new Error('no store');
    const whole = await readStore(dir, index, opts);
    const expected = JSON.stringify(await runPipeline(doc, { visits: whole }));
    for (const threads of [true, false]) {
      const rows = storeRows(dir, index, { ...opts, threads });
      // A pass gives every row in order; its batches' columns are the read columns only.
      const pass = rows.open();
      let n = 0;
      for (let b = pass.next(); b; b = pass.next()) {
        expect(b.columns.filter(Boolean)).toHaveLength(opts.columns?.length ?? 0);
        n += b.length;
      }
      pass.close();
      expect(n).toBe(index.rows);
      dropWarm(() => true);
      const filled = await runPipeline(doc, { visits: await warmInput(dir, { ...opts, threads }) }, BUDGET);
      expect(JSON.stringify(filled)).toBe(expected);
      // Warm now: the same again from the cache.
      const warm = await runPipeline(doc, { visits: await warmInput(dir, opts) }, BUDGET);
      expect(JSON.stringify(warm)).toBe(expected);
      // No room in the cache: scanned a chunk at a time.
      const input = await warmInput(dir, { ...opts, threads });
      const scanned = await runPipeline(doc, { visits: input }, { warmCacheBytes: 0 });
      expect(JSON.stringify(scanned)).toBe(expected);
      expect(input.data).toBeUndefined();
    }
    dropWarm(() => true);
  });

  it('a pass ended early lets its memory go to the next, which reads its own rows', async () => {
    const { dir, opts } = await stored('r2');
    const index = await readStoreIndex(dir, 'd1', H, me);
    if (!index) throw new Error('no store');
    const rows = storeRows(dir, index, { ...opts, threads: true });
    const first = rows.open();
    const batch = first.next();
    const age = batch?.columns[2];
    const before = [...((age?.values as BigInt64Array | undefined) ?? [])];
    expect(before.length).toBeGreaterThan(0);
    first.close();
    await new Promise((r) => setTimeout(r, 20));
    const second = rows.open();
    const again = second.next()?.columns[2]?.values as BigInt64Array;
    expect([...again]).toEqual(before);
    let n = again.length;
    for (let b = second.next(); b; b = second.next()) n += b.length;
    second.close();
    expect(n).toBe(index.rows);
    // The first pass's batch reads its own rows, or zeros (its memory wiped when it closed and
    // kept as a spare, which the second pass may or may not take: the spares are shared by
    // every read in the process), or nothing (its memory transferred to a thread): never the
    // second pass's rows. (A detached array has length 0 and may not be iterated.)
    const values = age?.values as BigInt64Array;
    const now = values.length === 0 ? [] : [...values];
    const wiped = now.length > 0 && now.every((v) => v === 0n);
    expect(now.length === 0 || wiped || JSON.stringify(now) === JSON.stringify(before)).toBe(true);
  });

  it('a damaged chunk fails the first job as store_corrupt naming the place, which stays data-free', async () => {
    const { dir, opts } = await stored('r3');
    const index = await readStoreIndex(dir, 'd1', H, me);
    if (!index) throw new Error('no store');
    // Column 3 (cost), chunk 4: one flipped bit.
    const file = join(dir, 'c3');
    const bytes = readFileSync(file);
    const [offset, length] = (index.extents[3] as [number, number][])[4] as [number, number];
    bytes[offset + length - 20] = (bytes[offset + length - 20] as number) ^ 1;
    writeFileSync(file, bytes);
    for (const threads of [true, false]) {
      dropWarm(() => true);
      const input = await warmInput(dir, { ...opts, threads });
      const where = await corruptAt(() =>
        runPipeline(doc, { visits: input }, BUDGET).catch((e) => {
          // As the enclave reports it once data was read (jobs.ts afterData).
          throw dataCondition(e);
        }),
      );
      expect(where).toBe('column 3, chunk 4');
    }
    // Nothing was cached from the damaged store.
    dropWarm(() => true);
    // A query that stops scanning early (a LIMIT) before the damaged chunk: the run's end
    // reads the rest, so the job fails the same wherever its queries stopped.
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      await scanIntoDuckDB(connection, 'v', storeRows(dir, index, opts), opts.columns);
      expect((await connection.runAndReadAll('SELECT * FROM v LIMIT 3')).getRows()).toHaveLength(3);
      expect(finishScans(connection)?.details?.where).toBe('column 3, chunk 4');
    } finally {
      releaseScans(connection);
      connection.closeSync();
    }
    for (const warmCacheBytes of [0, BUDGET.warmCacheBytes]) {
      dropWarm(() => true);
      const input = await warmInput(dir, opts);
      expect(await corruptAt(() => runPipeline(doc, { visits: input }, { warmCacheBytes }))).toBe(
        'column 3, chunk 4',
      );
    }
  });
});
