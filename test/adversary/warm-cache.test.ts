/**
 * The warm cache keeps decrypted datasets as DuckDB tables between jobs
 * (src/data/duckdb-warm*.ts). Attacks: a job answered from the cache after its owner
 * revoked the dataset (or its store was destroyed, or the identity handed over); a pipeline
 * naming a cached table (another dataset's rows) in its SQL; the cache lifting a job's
 * memory cap (by its tables sitting in another database than the job's, outside the job's
 * DuckDB memory limit); a leftover table riding along with the cache's in a reused database.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ObscuraError } from '../../src/common/errors.ts';
import { closeIdleDuckDBs } from '../../src/data/duckdb.ts';
import {
  type DatasetSchema,
  dropWarm,
  dropWarmDataset,
  isWarm,
  type ParsedDataset,
  parseDataset,
  type WarmInput,
  warmIntoDuckDB,
  warmKey,
  withDuckDB,
} from '../../src/data/index.ts';
import { warmCacheBytes } from '../../src/enclave/warm-cache.ts';
import { checkPipeline, jobThreads, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';

afterEach(() => {
  dropWarm(() => true);
  closeIdleDuckDBs();
});

const H = 'e'.repeat(64);
const KEY = warmKey(H, 'store-digest');
const MEMORY = '256MiB';
const BUDGET = { warmCacheBytes: 32 * 2 ** 20, memoryLimit: MEMORY };

async function secrets(): Promise<ParsedDataset> {
  const lines = ['name,region,score'];
  for (let i = 0; i < 400; i++) lines.push(`secret-${i},${i % 2 ? 'north' : 'south'},${i}`);
  return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv');
}

function warm(data: ParsedDataset, read = async () => data): WarmInput {
  return { kind: 'warm', key: KEY, schema: data.schema, rows: data.rows, read };
}

const COUNT = parsePipeline(`obscura: 1
name: count
inputs: { people: { columns: { name: string, region: string, score: int64 } } }
steps:
  - id: n
    aggregate: { from: people, group_by: [region], measures: { n: { count_distinct: name }, s: { sum: score } } }
outputs: { n: { min_group_size: 10 } }
`);

const PEOPLE: DatasetSchema = [
  { name: 'name', type: 'string' },
  { name: 'region', type: 'string' },
  { name: 'score', type: 'int64' },
];
// The database COUNT's jobs use: order-free, so on two threads where there are two cores (pipelines/threads.ts).
const PREFER = {
  memoryLimit: MEMORY,
  threads: jobThreads(checkPipeline(COUNT, { people: PEOPLE })),
  prefer: [{ key: KEY, columns: ['name', 'region', 'score'] }],
};

async function cachedTables(c: DuckDBConnection): Promise<string[]> {
  const r = await c.runAndReadAll(
    "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'obscura_warm_%'",
  );
  return r.getRowsJS().map((row) => String(row[0]));
}

describe('the warm cache under attack', () => {
  it('drops a revoked dataset at once: no later job is answered from it, even while its database was busy', async () => {
    const data = await secrets();
    const cold = await runPipeline(COUNT, { people: data });
    expect(await runPipeline(COUNT, { people: warm(data) }, BUDGET)).toEqual(cold);
    expect(isWarm(KEY, ['name'])).toBe(true);
    // Revoked while a job holds the database that caches it.
    await withDuckDB(async (c) => {
      expect(await cachedTables(c)).toHaveLength(1);
      dropWarmDataset(H);
      expect(isWarm(KEY, ['name'])).toBe(false);
    }, PREFER);
    // The store is gone too (shredded): a job must fail, not find the rows in memory.
    const gone = warm(data, async () => {
      throw new ObscuraError('store_corrupt', 'store of dataset d is corrupt (index)', 500);
    });
    await expect(runPipeline(COUNT, { people: gone }, BUDGET)).rejects.toThrow(/store_corrupt|corrupt/);
    for (let i = 0; i < 3; i++)
      await withDuckDB(async (c) => expect(await cachedTables(c)).toEqual([]), PREFER);
  });

  it('drops everything on a hand-over', async () => {
    const data = await secrets();
    await runPipeline(COUNT, { people: warm(data) }, BUDGET);
    expect(isWarm(KEY, ['name'])).toBe(true);
    dropWarm(() => true);
    expect(isWarm(KEY, ['name'])).toBe(false);
    await withDuckDB(async (c) => expect(await cachedTables(c)).toEqual([]), PREFER);
  });

  it('cannot be named by a pipeline: tables and catalog functions are not in the language', async () => {
    const data = await secrets();
    await runPipeline(COUNT, { people: warm(data) }, BUDGET);
    const [table] = await withDuckDB(cachedTables, PREFER);
    expect(table).toMatch(/^obscura_warm_[0-9a-f]{24}$/);
    const other = await parseDataset(Buffer.from('region\nnorth\n'), 'csv');
    for (const where of [
      `${table}.c0 IS NOT NULL`,
      'c0 IS NOT NULL',
      `"${table}" IS NOT NULL`,
      'duckdb_tables() IS NOT NULL',
    ]) {
      const doc = parsePipeline(`obscura: 1
name: probe
inputs: { other: { columns: { region: string } } }
steps:
  - id: f
    filter: { from: other, where: ${JSON.stringify(where)} }
  - id: n
    aggregate: { from: f, measures: { n: { count: "*" } } }
outputs: { n: { min_group_size: 1 } }
`);
      await expect(runPipeline(doc, { other }, BUDGET), where).rejects.toMatchObject({
        code: expect.stringMatching(/^pipeline_/),
      });
    }
  });

  it("lives in one database, inside the memory limit of the job using it, never beside another's", async () => {
    const data = await secrets();
    const columns = ['name', 'region', 'score'];
    const other: WarmInput = { ...warm(data), key: warmKey(H, 'other-store') };
    const opts = { maxBytes: 32 * 2 ** 20 };
    await withDuckDB(
      async (a) => {
        expect(await warmIntoDuckDB(a, 'v1', warm(data), columns, opts)).toBe('filled');
        // A second database while the first is busy (a job beside an upload's copy).
        await withDuckDB(
          async (b) => {
            // The upload's copy, which may not evict: not made beside the other database's cache.
            expect(await warmIntoDuckDB(b, 'v2', other, columns, { ...opts, evict: false })).toBe('scanned');
            // A job's copy drops the other database's cache first.
            expect(await warmIntoDuckDB(b, 'v3', other, columns, opts)).toBe('filled');
            expect(isWarm(KEY, columns)).toBe(false);
            expect(isWarm(other.key, columns)).toBe(true);
          },
          { memoryLimit: MEMORY },
        );
      },
      { memoryLimit: MEMORY },
    );
  });

  it('lives inside the job memory limit and cannot shelter a leftover table', async () => {
    const data = await secrets();
    await runPipeline(COUNT, { people: warm(data) }, BUDGET);
    await withDuckDB(async (c) => {
      const [[limit, used]] = (
        await c.runAndReadAll(
          "SELECT current_setting('memory_limit'), (SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE')",
        )
      ).getRowsJS() as [[string, bigint]];
      expect(limit).toMatch(/^2[0-9.]+ MiB$/);
      expect(Number(used)).toBeGreaterThan(0);
      // A job that leaves a table of its own beside the cache's: the database is not reused.
      await c.run('CREATE TABLE leftover AS SELECT 42 AS x');
    }, PREFER);
    expect(isWarm(KEY, ['name'])).toBe(false);
    await withDuckDB(async (c) => {
      const r = await c.runAndReadAll('SELECT count(*) FROM duckdb_tables() WHERE NOT internal');
      expect(r.getRowsJS()).toEqual([[0n]]);
    }, PREFER);
    // The budget is at most half the memory limit per job, a quarter by default.
    const limits = { timeoutMs: 1000, maxRows: 10_000, memoryBytes: 1024 };
    expect(warmCacheBytes(limits, undefined)).toBe(256);
    expect(warmCacheBytes(limits, 10 ** 12)).toBe(512);
    expect(warmCacheBytes(limits, 0)).toBe(0);
  });
});
