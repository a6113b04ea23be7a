/**
 * The enclave's DuckDB is kept warm between jobs (src/data/duckdb.ts): the attack is a later
 * job reading an earlier job's rows through it — a table or view left behind, or the
 * earlier job's scan still answering its token. Temporary objects die with the job's
 * connection, scans are forgotten with it, and a database found holding anything else is
 * closed rather than reused.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { parseDataset, scanIntoDuckDB, withDuckDB } from '../../src/data/index.ts';

async function rows(c: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await c.runAndReadAll(sql)).getRowsJS() as unknown[][];
}

describe('a warm DuckDB between jobs', () => {
  it("a later job finds nothing of an earlier job's data in a warm database", async () => {
    const d = await parseDataset(new TextEncoder().encode('k,v\nsecret-a,1\nsecret-b,2\n'), 'csv');
    let token = '';
    // Job 1 leaves only what dies with its connection: a scan's view, a temporary table.
    await withDuckDB(async (c) => {
      await scanIntoDuckDB(c, 'input_0', d);
      await c.run('CREATE TEMP TABLE step_0 AS SELECT * FROM input_0');
      const [[sql]] = (await rows(c, "SELECT sql FROM duckdb_views() WHERE view_name = 'input_0'")) as [
        [string],
      ];
      token = /obscura_scan\('([^']+)'\)/.exec(sql)?.[1] ?? '';
      expect(await rows(c, `SELECT count(*) FROM obscura_scan('${token}')`)).toEqual([[2n]]);
    });
    expect(token).not.toBe('');
    await withDuckDB(async (c) => {
      expect(await rows(c, 'SELECT count(*) FROM duckdb_tables() WHERE NOT internal')).toEqual([[0n]]);
      expect(await rows(c, 'SELECT count(*) FROM duckdb_views() WHERE NOT internal')).toEqual([[0n]]);
      // The earlier job's scan, named by its token, is gone with its connection.
      await expect(c.run(`SELECT * FROM obscura_scan('${token}')`)).rejects.toThrow();
      // A job that leaves a lasting table gets its database closed, not reused.
      await c.run('CREATE TABLE leftover AS SELECT 42 AS x');
    });
    for (let i = 0; i < 3; i++) {
      await withDuckDB(async (c) => {
        expect(await rows(c, 'SELECT count(*) FROM duckdb_tables() WHERE NOT internal')).toEqual([[0n]]);
      });
    }
  });
});
