/**
 * loadIntoDuckDB (Arrow buffers copied straight into DuckDB chunks), scanIntoDuckDB (the
 * same buffers handed to DuckDB by a table function under a view) and the locked-down
 * DuckDB (withDuckDB): values survive exactly — across chunk boundaries, record batches,
 * sliced (offset) data, nulls, short/long/Unicode strings — and SQL cannot reach files,
 * extensions or the configuration.
 */
import {
  type Data,
  Int32,
  makeData,
  makeVector,
  Table,
  TimestampMicrosecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import {
  type DatasetSchema,
  loadIntoDuckDB,
  type ParsedDataset,
  parseDataset,
  scanIntoDuckDB,
  withDuckDB,
} from '../../src/data/index.ts';
import { caught, utf8 } from './helpers.ts';

async function rows(c: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await c.runAndReadAll(sql)).getRowsJS() as unknown[][];
}

/** A CSV of `n` rows covering every type, with nulls scattered over chunk boundaries. */
function wideCsv(n: number): string {
  const lines = ['s,i,f,b,d,t,long'];
  for (let r = 0; r < n; r++) {
    const nul = (k: number) => (r * 7 + k) % 11 === 0;
    lines.push(
      [
        nul(1) ? '' : `s${r}`,
        nul(2) ? '' : String(r - 2000),
        nul(3) ? '' : String(r / 4),
        nul(4) ? '' : r % 3 === 0 ? 'true' : 'false',
        nul(5) ? '' : `20${10 + (r % 20)}-0${1 + (r % 9)}-1${r % 9}`,
        nul(6)
          ? ''
          : `2024-01-01T00:00:${String(r % 60).padStart(2, '0')}.${String(r % 1000).padStart(3, '0')}`,
        nul(7) ? '' : `"${'x'.repeat(r % 30)}é${r}"`,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

describe.each([
  ['loadIntoDuckDB', loadIntoDuckDB],
  ['scanIntoDuckDB', scanIntoDuckDB],
] as const)('%s', (_, loadIntoDuckDB) => {
  it('loads every type exactly, across chunk boundaries', async () => {
    const text = wideCsv(5000);
    const d = await parseDataset(utf8(text), 'csv');
    expect(d.schema.map((c) => c.type)).toEqual([
      'string',
      'int64',
      'float64',
      'bool',
      'date',
      'timestamp',
      'string',
    ]);
    await withDuckDB(async (c) => {
      await loadIntoDuckDB(c, 'v', d);
      // Independent check: DuckDB's own CSV reader on the same text is not available (no file
      // access), so compare with the Arrow values row by row.
      const got = await rows(c, 'SELECT s, i, f, b, epoch_ms(d::TIMESTAMP), epoch_us(t), long FROM v');
      const cols = d.schema.map((col) => d.table.getChild(col.name));
      const ts = d.table.getChild('t')?.data[0] as Data;
      got.forEach((row, r) => {
        expect(row[0]).toBe(cols[0]?.get(r) ?? null);
        expect(row[1]).toBe(cols[1]?.get(r) ?? null);
        expect(row[2]).toBe(cols[2]?.get(r) ?? null);
        expect(row[3]).toBe(cols[3]?.get(r) ?? null);
        expect(row[4] === null ? null : Number(row[4])).toBe(cols[4]?.get(r) ?? null);
        const valid = ts.nullBitmap ? (ts.nullBitmap[r >> 3] as number) & (1 << (r & 7)) : 1;
        expect(row[5]).toBe(valid ? (ts.values as BigInt64Array)[r] : null);
        expect(row[6]).toBe(cols[6]?.get(r) ?? null);
      });
      expect(got.length).toBe(5000);
    });
  });

  it('handles several batches, sliced data, column subsets and odd table names', async () => {
    const a = new Table({
      n: vectorFromArray([1, null, 3], new Int32()),
      s: vectorFromArray(['a', 'bbbbbbbbbbbbbbbbbbbbb', null], new Utf8()),
    });
    const b = new Table({
      n: vectorFromArray([4, 5], new Int32()),
      s: vectorFromArray(['exactly12byt', 'thirteen byte'], new Utf8()),
    });
    const parsed = await parseDataset(tableToIPC(a.concat(b)), 'arrow');
    expect(parsed.table.batches.length).toBe(2);
    // A slice keeps the buffers and sets offsets, which the loader must honour.
    const sliced: ParsedDataset = { table: parsed.table.slice(1), schema: parsed.schema, rows: 4 };
    const all = [
      [1, 'a'],
      [null, 'bbbbbbbbbbbbbbbbbbbbb'],
      [3, null],
      [4, 'exactly12byt'],
      [5, 'thirteen byte'],
    ];
    await withDuckDB(async (c) => {
      for (const [name, d, expected] of [
        ['from "ipc"', parsed, all],
        ['sliced; --', sliced, all.slice(1)],
      ] as const) {
        await loadIntoDuckDB(c, name, d);
        expect(await rows(c, `SELECT n, s FROM "${name.replaceAll('"', '""')}"`)).toEqual(expected);
      }
      await loadIntoDuckDB(c, 'only_s', parsed, ['s']);
      expect(await rows(c, `SELECT column_name FROM duckdb_columns() WHERE table_name = 'only_s'`)).toEqual([
        ['s'],
      ]);
      await caught(() => loadIntoDuckDB(c, 'bad', parsed, ['nope']), 'dataset_invalid');
      const notNormalised: ParsedDataset = {
        table: new Table({ n: vectorFromArray([1.5]) }),
        schema: [{ name: 'n', type: 'int32' }],
        rows: 1,
      };
      await caught(() => loadIntoDuckDB(c, 'bad2', notNormalised), 'dataset_invalid');
    });
  });

  it('compares, groups and joins long strings as DuckDB compares its own', async () => {
    // Over 12 bytes, spread over several vectors, sharing or differing in their first 4 bytes.
    const ids = Array.from({ length: 6000 }, (_, r) =>
      r % 5 === 0 ? null : `${r % 2 ? 'P000' : 'Q00'}${(r * 7919) % 997}-${'z'.repeat(r % 9)}tail`,
    );
    const parsed = await parseDataset(
      tableToIPC(new Table({ s: vectorFromArray(ids, new Utf8()) })),
      'arrow',
    );
    const counts = new Map<string, number>();
    for (const id of ids) if (id !== null) counts.set(id, (counts.get(id) ?? 0) + 1);
    const sorted = [...counts.keys()].sort();
    const probe = ids[7] as string;
    await withDuckDB(async (c) => {
      await loadIntoDuckDB(c, 'v', parsed);
      expect(
        await rows(c, 'SELECT s, count(*)::INTEGER FROM v WHERE s IS NOT NULL GROUP BY s ORDER BY s'),
      ).toEqual(sorted.map((k) => [k, counts.get(k)]));
      expect(await rows(c, `SELECT count(*)::INTEGER FROM v WHERE s = '${probe}'`)).toEqual([
        [counts.get(probe)],
      ]);
      const pairs = [...counts.values()].reduce((n, k) => n + k * k, 0);
      expect(await rows(c, 'SELECT count(*)::INTEGER FROM v a JOIN v b USING (s)')).toEqual([[pairs]]);
    });
  });

  it('keeps timestamps to the microsecond', async () => {
    const micros = new BigInt64Array([1n, -1n, 1_700_000_000_123_456n]);
    const table = new Table({
      t: makeVector(makeData({ type: new TimestampMicrosecond(), length: 3, nullCount: 0, data: micros })),
    });
    const schema: DatasetSchema = [{ name: 't', type: 'timestamp' }];
    await withDuckDB(async (c) => {
      await loadIntoDuckDB(c, 't', { table, schema, rows: 3 });
      expect(await rows(c, 'SELECT epoch_us(t) FROM t')).toEqual([[1n], [-1n], [1_700_000_000_123_456n]]);
    });
  });

  it('adds a row-id column numbering rows across chunks, only when asked', async () => {
    const d = await parseDataset(utf8(wideCsv(5000)), 'csv');
    await withDuckDB(async (c) => {
      await loadIntoDuckDB(c, 'with_ids', d, ['i'], { rowIdColumn: '__rid' });
      expect(
        await rows(
          c,
          'SELECT count(*), count(DISTINCT "__rid"), min("__rid"), max("__rid"), count(i) FROM with_ids',
        ),
      ).toEqual([[5000n, 5000n, 0n, 4999n, 4546n]]);
      // Numbered in dataset order: row r holds i = r - 2000 wherever i is not null.
      expect(
        await rows(c, 'SELECT count(*) FROM with_ids WHERE i IS NOT NULL AND i <> "__rid" - 2000'),
      ).toEqual([[0n]]);
      await loadIntoDuckDB(c, 'ids_only', d, [], { rowIdColumn: '__rid' });
      expect(await rows(c, 'SELECT count(*), max("__rid") FROM ids_only')).toEqual([[5000n, 4999n]]);
      await caught(() => loadIntoDuckDB(c, 'clash', d, ['i', 's'], { rowIdColumn: 'I' }), 'dataset_invalid');
    });
  });
});

describe('withDuckDB', () => {
  it('refuses file access, extension installs and configuration changes', async () => {
    await withDuckDB(async (c) => {
      expect(
        await rows(c, "SELECT current_setting('temp_directory'), current_setting('enable_external_access')"),
      ).toEqual([['', false]]);
      for (const sql of [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT 1) TO '/tmp/obscura-should-not-exist.csv'",
        "ATTACH '/tmp/obscura-should-not-exist.db'",
        'INSTALL httpfs',
        'SET enable_external_access = true',
        "SET temp_directory = '/tmp'",
        'SET threads = 8',
      ]) {
        await expect(c.run(sql)).rejects.toThrow();
      }
    });
  });

  it('closes the database even when the callback throws', async () => {
    let conn: DuckDBConnection | undefined;
    await expect(
      withDuckDB(async (c) => {
        conn = c;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect((conn as DuckDBConnection).run('SELECT 1')).rejects.toThrow();
  });
});
