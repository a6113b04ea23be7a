/**
 * Parquet parsing with hyparquet, against files DuckDB writes (`COPY … TO` into a temp
 * directory, in this test only). Each file is also read back by DuckDB itself and the two
 * readings compared through loadIntoDuckDB, so hyparquet + normalisation + loading is
 * checked against an independent reader.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIntoDuckDB, parseDataset } from '../../src/data/index.ts';
import { caught, column } from './helpers.ts';

let dir: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'obscura-parquet-'));
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

/** Write `select` to a Parquet file with DuckDB and return its bytes. */
async function parquet(name: string, select: string, options = ''): Promise<Uint8Array> {
  const path = join(dir, `${name}.parquet`);
  await db.run(`COPY (${select}) TO '${path}' (FORMAT PARQUET${options})`);
  return readFileSync(path);
}

const ALL_TYPES = `
  SELECT i::INTEGER AS int32, i::BIGINT * 1000000007 AS int64, i::SMALLINT AS small, i::UINTEGER AS uint32,
         i / 7 AS dbl, (i / 3)::FLOAT AS flt, (i / 8)::DECIMAL(10, 3) AS dec,
         CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || i || repeat('ü', i % 20) END AS str,
         i % 2 = 0 AS flag, DATE '1969-12-25' + i::INTEGER AS day,
         TIMESTAMP '2024-01-01 00:00:00.000001' + INTERVAL (i * 3661) SECOND AS ts,
         CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS maybe
  FROM range(5000) t(i)`;

describe('Parquet', () => {
  it('maps every supported type onto the column types', async () => {
    const d = await parseDataset(await parquet('types', ALL_TYPES), 'parquet');
    expect(d.rows).toBe(5000);
    expect(Object.fromEntries(d.schema.map((c) => [c.name, c.type]))).toEqual({
      int32: 'int32',
      int64: 'int64',
      small: 'int32',
      uint32: 'int64',
      dbl: 'float64',
      flt: 'float64',
      dec: 'float64',
      str: 'string',
      flag: 'bool',
      day: 'date',
      ts: 'timestamp',
      maybe: 'int64',
    });
    expect(column(d.table, 'str').slice(0, 3)).toEqual([null, 'v1ü', 'v2üü']);
    expect(column(d.table, 'maybe').slice(0, 4)).toEqual([null, 1n, 2n, null]);
    expect(column(d.table, 'day')[0]).toBe(Date.UTC(1969, 11, 25));
  });

  it('loads into DuckDB exactly what DuckDB reads from the same file (several row groups)', async () => {
    const bytes = await parquet('groups', ALL_TYPES, ', ROW_GROUP_SIZE 1000');
    const d = await parseDataset(bytes, 'parquet');
    await loadIntoDuckDB(db, 'from_hyparquet', d);
    const path = join(dir, 'groups.parquet');
    const cols = 'int32, int64, small, uint32, dbl, flt::DOUBLE, dec::DOUBLE, str, flag, day, ts, maybe';
    const diff = await db.runAndReadAll(
      `SELECT count(*) FROM ((SELECT ${cols} FROM from_hyparquet EXCEPT ALL SELECT ${cols} FROM '${path}')
        UNION ALL (SELECT ${cols} FROM '${path}' EXCEPT ALL SELECT ${cols} FROM from_hyparquet))`,
    );
    expect(diff.getRows()[0]?.[0]).toBe(0n);
  });

  it('never aliases the input bytes', async () => {
    const bytes = await parquet('alias', 'SELECT i AS n FROM range(10) t(i)', ', COMPRESSION UNCOMPRESSED');
    const d = await parseDataset(bytes, 'parquet');
    bytes.fill(0);
    expect(column(d.table, 'n')).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
  });

  it('refuses nested columns, unsupported codecs and garbage, naming the column', async () => {
    const nested = await caught(
      async () => parseDataset(await parquet('nested', 'SELECT [1, 2] AS xs, 1 AS y'), 'parquet'),
      'dataset_invalid',
    );
    expect(nested.details).toMatchObject({ column: 'xs' });
    const zstd = await caught(
      async () => parseDataset(await parquet('zstd', 'SELECT 1 AS y', ', COMPRESSION ZSTD'), 'parquet'),
      'dataset_invalid',
    );
    expect(zstd.message).toContain('ZSTD');
    await caught(
      () => parseDataset(new TextEncoder().encode('PAR1 not really parquet PAR1'), 'parquet'),
      'dataset_invalid',
    );
  });
});
