/**
 * Dictionary-encoded string chunks in the enclave's store (src/enclave/store/dictionary.ts):
 * a string chunk with few distinct values is kept as a dictionary, one with many as plain
 * strings, and either way every value reads back the same — nulls, empty strings, entries
 * longer than DuckDB inlines (12 bytes), multi-byte UTF-8 — through Arrow, through a
 * DuckDB scan, and through a pipeline, whose result equals the one over the parsed CSV.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Type } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/index.ts';
import { type ParsedDataset, parseDataset, scanIntoDuckDB, withDuckDB } from '../../src/data/index.ts';
import { readStore, readStoreIndex } from '../../src/enclave/store/read.ts';
import { writeStore } from '../../src/enclave/store/write.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-store-dict-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const me = generateIdentity().identity;
const H = 'b'.repeat(64);
const KINDS = ['north', '', 'a rather long region name', 'zürich-süd', 'exactly12byt', 'thirteen byte'];

/** Rows 0-299 use six kinds (and nulls); rows 300-599 are all distinct (too many for a dictionary). */
async function dataset(): Promise<ParsedDataset> {
  const lines = ['kind,n'];
  for (let i = 0; i < 600; i++) {
    const kind = i < 300 ? (i % 11 === 0 ? '' : `"${KINDS[i % KINDS.length]}"`) : `"secret-${i}-ä"`;
    lines.push(`${kind},${i}`);
  }
  return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv', {
    schema: [
      { name: 'kind', type: 'string' },
      { name: 'n', type: 'int32' },
    ],
  });
}

async function read(dir: string, data: ParsedDataset): Promise<ParsedDataset> {
  const index = await readStoreIndex(dir, 'd1', H, me);
  if (!index) throw new Error('no store');
  return readStore(dir, index, { dataset: 'd1', ageIdentity: me, schema: data.schema });
}

async function rows(c: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await c.runAndReadAll(sql)).getRowsJS() as unknown[][];
}

describe('dictionary-encoded string chunks', () => {
  it('read back the same strings, alone or mixed with plain chunks, in Arrow and in DuckDB', async () => {
    const data = await dataset();
    const expected = data.table.getChild('kind')?.toArray();
    // Chunks of 100 rows: 3 dictionary chunks, then 3 plain ones.
    const dir = join(work, 'mixed');
    await writeStore(dir, data, H, me, 100);
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes('secret-')).toBe(false);
    const mixed = await read(dir, data);
    expect(mixed.table.getChild('kind')?.toArray()).toEqual(expected);
    // The first half alone is dictionary chunks throughout, and stays one.
    const half: ParsedDataset = { ...data, table: data.table.slice(0, 300), rows: 300 };
    const dictDir = join(work, 'dict');
    await writeStore(dictDir, half, H, me, 100);
    const dict = await read(dictDir, half);
    expect(dict.table.getChild('kind')?.type.typeId).toBe(Type.Dictionary);
    expect(dict.table.getChild('kind')?.toArray()).toEqual(expected?.slice(0, 300));
    for (const [name, d, want] of [
      ['mixed', mixed, expected],
      ['dict', dict, expected?.slice(0, 300)],
    ] as const) {
      await withDuckDB(async (c) => {
        await scanIntoDuckDB(c, name, d);
        const got = await rows(c, `SELECT kind FROM ${name}`);
        expect(got.map((r) => r[0])).toEqual([...(want ?? [])]);
      });
    }
  });

  it('gives a pipeline the same result as the parsed CSV', async () => {
    const data = await dataset();
    const dir = join(work, 'pipeline');
    await writeStore(dir, data, H, me, 128);
    const doc = parsePipeline(`obscura: 1
name: kinds
inputs:
  t:
    columns: { kind: string, n: int32 }
steps:
  - id: by_kind
    aggregate:
      from: t
      group_by: [kind]
      measures:
        rows: { count: "*" }
        total: { sum: n }
outputs:
  by_kind:
    min_group_size: 1
`);
    const stored = await read(dir, data);
    expect(await runPipeline(doc, { t: stored })).toEqual(await runPipeline(doc, { t: data }));
    const half: ParsedDataset = { ...data, table: data.table.slice(0, 300), rows: 300 };
    await writeStore(dir, half, H, me, 100);
    const dict = await read(dir, half);
    expect(dict.table.getChild('kind')?.type.typeId).toBe(Type.Dictionary);
    expect(await runPipeline(doc, { t: dict })).toEqual(await runPipeline(doc, { t: half }));
  });
});
