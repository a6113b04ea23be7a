/**
 * The warm cache of decrypted datasets (src/data/duckdb-warm*.ts): a job that finds its
 * dataset cached reads DuckDB's own table and gets the cold path's results bit for bit —
 * a single-input aggregate and a join whose suppression counts distinct row ids of each
 * input; a superset of the columns serves a job; the budget is kept (a dataset too large is
 * only scanned, the least recently used is dropped for a new one, never one the job reads).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeIdleDuckDBs } from '../../src/data/duckdb.ts';
import { dropWarm, isWarm, type ParsedDataset, parseDataset, type WarmInput } from '../../src/data/index.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';

afterEach(() => {
  dropWarm(() => true);
  closeIdleDuckDBs();
});

async function visits(rows: number): Promise<ParsedDataset> {
  const lines = ['patient_id,region,age,cost'];
  for (let i = 0; i < rows; i++)
    lines.push(
      `p${i % 997},${['north', 'south', 'east', 'islands'][i % 37 === 0 ? 3 : i % 3]},${i % 90},${(i * 7.31) % 1000}`,
    );
  return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv');
}

async function labs(rows: number): Promise<ParsedDataset> {
  const lines = ['patient_id,hba1c'];
  for (let i = 0; i < rows; i++) lines.push(`p${(i * 13) % 1200},${4 + ((i * 0.37) % 9)}`);
  return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv');
}

/** A warm input over `data` that counts its reads. */
function warm(key: string, data: ParsedDataset): WarmInput & { reads: number } {
  const input = {
    kind: 'warm' as const,
    key,
    schema: data.schema,
    rows: data.rows,
    reads: 0,
    read: async () => {
      input.reads++;
      return data;
    },
  };
  return input;
}

const AGGREGATE = parsePipeline(`obscura: 1
name: cost
inputs: { visits: { columns: { region: string, age: int32, cost: float64 } } }
steps:
  - id: adults
    filter: { from: visits, where: "age >= 18" }
  - id: by_region
    aggregate:
      from: adults
      group_by: [region]
      measures: { n: { count: "*" }, total: { sum: cost }, mean: { mean: cost }, top: { max: cost } }
outputs: { by_region: { min_group_size: 150 } }
`);

const JOIN = parsePipeline(`obscura: 1
name: joined
inputs:
  visits: { columns: { patient_id: string, region: string, age: int32 } }
  labs: { columns: { patient_id: string, hba1c: float64 } }
steps:
  - id: adults
    filter: { from: visits, where: "age >= 18" }
  - id: both
    join: { left: adults, right: labs, on: [patient_id], how: inner }
  - id: by_region
    aggregate:
      from: both
      group_by: [region]
      measures: { patients: { count_distinct: patient_id }, mean: { mean: hba1c, bounds: [4, 14] } }
outputs: { by_region: { min_group_size: 200 } }
`);

describe('the warm cache', () => {
  it('answers an aggregate and a join from cached tables exactly as the cold path does', async () => {
    const [v, l] = [await visits(5000), await labs(3000)];
    const budget = { warmCacheBytes: 64 * 2 ** 20 };
    for (const doc of [AGGREGATE, JOIN]) {
      const inputs = (
        vi: ParsedDataset | WarmInput,
        li: ParsedDataset | WarmInput,
      ): Record<string, ParsedDataset | WarmInput> =>
        doc === JOIN ? { visits: vi, labs: li } : { visits: vi };
      const cold = await runPipeline(doc, inputs(v, l));
      expect(cold.by_region?.suppressedGroups, doc.name).toBeGreaterThan(0);
      expect(cold.by_region?.rows.length, doc.name).toBeGreaterThan(0);
      const [wv, wl] = [warm(`v:${doc.name}`, v), warm(`l:${doc.name}`, l)];
      const filled = await runPipeline(doc, inputs(wv, wl), budget);
      const again = await runPipeline(doc, inputs(wv, wl), budget);
      expect(JSON.stringify(filled)).toBe(JSON.stringify(cold));
      expect(JSON.stringify(again)).toBe(JSON.stringify(cold));
      // Read once, to fill the cache; the second job read no store.
      expect(wv.reads).toBe(1);
      if (doc === JOIN) expect(wl.reads).toBe(1);
    }
  });

  it('serves a job the columns it reads from a wider entry, and fills another for new columns', async () => {
    const v = await visits(2000);
    const input = warm('v', v);
    const budget = { warmCacheBytes: 64 * 2 ** 20 };
    await runPipeline(AGGREGATE, { visits: input }, budget);
    expect(isWarm('v', ['region', 'age', 'cost'])).toBe(true);
    const count = parsePipeline(`obscura: 1
name: count
inputs: { visits: { columns: { region: string } } }
steps: [{ id: n, aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" } } } }]
outputs: { n: { min_group_size: 1 } }
`);
    const cold = await runPipeline(count, { visits: v });
    expect(JSON.stringify(await runPipeline(count, { visits: input }, budget))).toBe(JSON.stringify(cold));
    expect(input.reads).toBe(1);
    expect(isWarm('v', ['patient_id'])).toBe(false);
  });

  it('keeps within its budget: too large is only scanned, and the least recently used makes room', async () => {
    const [a, b] = [await visits(3000), await visits(3001)];
    const tiny = warm('a', a);
    await runPipeline(AGGREGATE, { visits: tiny }, { warmCacheBytes: 1000 });
    expect(isWarm('a', ['region'])).toBe(false);
    // Room for one of the two: filling b drops a.
    const room = { warmCacheBytes: 150_000 };
    await runPipeline(AGGREGATE, { visits: warm('a', a) }, room);
    expect(isWarm('a', ['region', 'age', 'cost'])).toBe(true);
    await runPipeline(AGGREGATE, { visits: warm('b', b) }, room);
    expect(isWarm('b', ['region', 'age', 'cost'])).toBe(true);
    expect(isWarm('a', ['region'])).toBe(false);
  });

  it('never drops a table the job reads: of two inputs that do not both fit, the second is scanned', async () => {
    const [v, l] = [await visits(5000), await labs(3000)];
    const cold = await runPipeline(JOIN, { visits: v, labs: l });
    // Room for either input alone (by the cache's estimate, visits about 240 kB, labs about
    // 90 kB), not both: visits is copied first, so labs could only be by dropping it.
    const room = { warmCacheBytes: 300_000 };
    const out = await runPipeline(JOIN, { visits: warm('v2', v), labs: warm('l2', l) }, room);
    expect(JSON.stringify(out)).toBe(JSON.stringify(cold));
    expect(isWarm('v2', ['patient_id', 'region', 'age'])).toBe(true);
    expect(isWarm('l2', ['patient_id', 'hba1c'])).toBe(false);
  });
});
