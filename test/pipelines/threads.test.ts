/**
 * DuckDB on two threads where the result stays reproducible (src/pipelines/threads.ts): the
 * thread count decided from the plan's steps and measures, an order-free job's result on two
 * threads the same bytes run after run and equal to one thread's, and the pool's rule that
 * keeps the warm cache where a serial job left it (src/data/duckdb.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/common/hash.ts';
import { closeIdleDuckDBs } from '../../src/data/duckdb.ts';
import {
  type DatasetSchema,
  dropWarm,
  type ParsedDataset,
  parseDataset,
  type WarmInput,
  warmIntoDuckDB,
  withDuckDB,
} from '../../src/data/index.ts';
import { checkPipeline, jobThreads, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { planDp } from '../../src/pipelines/dp.ts';
import { examplePipelines } from './fixtures.ts';

const SCHEMA: DatasetSchema = [
  { name: 'region', type: 'string' },
  { name: 'age', type: 'int64' },
  { name: 'cost', type: 'float64' },
  { name: 'readmitted', type: 'bool' },
];

/** A pipeline over SCHEMA's `visits` with these measures by region. */
function byRegion(measures: string, step = ''): string {
  return `obscura: 1
name: t
inputs: { visits: { columns: { region: string, age: int64, cost: float64, readmitted: bool } } }
steps:${step}
  - id: g
    aggregate: { from: ${step ? 'd' : 'visits'}, group_by: [region], measures: { ${measures} } }
outputs: { g: { min_group_size: 1 } }
`;
}

const threadsOf = (text: string, cores = 2) =>
  jobThreads(checkPipeline(planDp(parsePipeline(text)).doc, { visits: SCHEMA }), cores);

describe('the thread count of a job', () => {
  it('is two when every measure is exact in any row order and counts no distinct values, else one', () => {
    const free = [
      'n: { count: "*" }',
      'n: { count: cost }',
      'lo: { min: cost }, hi: { max: cost }',
      's: { sum: age }, m: { mean: age }',
      'r: { mean: readmitted }, s: { sum: readmitted }',
      's: { sum: cost, bounds: [0, 100] }'.replace('cost', 'age'),
      'q: { quantile: cost, q: 0.9 }',
      'h: { histogram: cost, bins: [0, 10, 100] }',
    ];
    for (const m of free) expect(threadsOf(byRegion(m)), m).toBe(2);
    const serial = [
      's: { sum: cost }',
      'm: { mean: cost }',
      // Integers clamped to float bounds are summed as floats.
      'm: { mean: age, bounds: [0, 99.5] }',
      'sd: { stddev: age }',
      'v: { variance: readmitted }',
      'n: { count: "*" }, m: { mean: cost }',
      // Reproducible, but a table of distinct values per thread costs more on two (threads.ts).
      'p: { count_distinct: age }',
    ];
    for (const m of serial) expect(threadsOf(byRegion(m)), m).toBe(1);
    // A derived float summed; a derived integer summed.
    const derive = (expr: string) => `
  - id: d
    derive: { from: visits, columns: { x: "${expr}" } }`;
    expect(threadsOf(byRegion('s: { sum: x }', derive('cost * 2')))).toBe(1);
    expect(threadsOf(byRegion('s: { sum: x }', derive('age + 1')))).toBe(2);
    // Behind a join, min_group_size counts distinct rows: one thread, whatever the measures.
    const joined = `
  - id: d
    join: { left: visits, right: visits, on: [region], how: inner }`;
    expect(threadsOf(byRegion('n: { count: "*" }', joined))).toBe(1);
    // One core: one thread whatever the job.
    expect(threadsOf(byRegion('n: { count: "*" }'), 1)).toBe(1);
  });

  it('follows the example pipelines: training and float means on one thread', () => {
    const threads: Record<string, number> = {};
    for (const [file, text] of examplePipelines()) {
      const doc = planDp(parsePipeline(text)).doc;
      // Each input's schema as the pipeline declares it.
      const schemas = Object.fromEntries(
        Object.entries(doc.inputs).map(([name, i]) => [
          name,
          Object.entries(i.columns).map(([column, type]) => ({ name: column, type })),
        ]),
      );
      threads[file.replace(/\.ya?ml$/, '')] = jobThreads(checkPipeline(doc, schemas), 2);
    }
    expect(threads).toMatchObject({
      'cost-by-region': 1,
      'cost-model': 1,
      'readmission-model': 1,
      'hba1c-by-region': 1,
      'dp-readmission-by-region': 1,
      // Counts, means and sums of booleans (exact integer sums) and a histogram.
      'fraud-by-channel': 2,
    });
  });
});

/** Rows enough for several of DuckDB's row groups (122,880 rows each), so both threads work. */
const ROWS = 300_000;

let made: Promise<ParsedDataset> | undefined;

/** ROWS rows of SCHEMA, made once. */
function visits(): Promise<ParsedDataset> {
  made ??= makeVisits();
  return made;
}

async function makeVisits(): Promise<ParsedDataset> {
  const regions = ['north', 'south', 'east', 'west', 'central', 'islands'];
  const lines = ['region,age,cost,readmitted'];
  let x = 7;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  for (let i = 0; i < ROWS; i++)
    lines.push(
      // Integer arithmetic for the cost's digits: toFixed made this loop most of the test's time.
      `${regions[(next() * 6) | 0]},${(next() * 90) | 0},${(next() * 5000) | 0}.${(next() * 1000) | 0},${next() < 0.2}`,
    );
  return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv', { schema: SCHEMA });
}

describe('an order-free job on two threads', () => {
  afterAll(() => dropWarm(() => true));

  it('signs the same bytes run after run, equal to the one-thread result', async () => {
    const data = await visits();
    const doc = parsePipeline(
      byRegion(
        'n: { count: "*" }, a: { mean: age }, s: { sum: age }, r: { mean: readmitted }, hi: { max: cost }, q: { quantile: cost, q: 0.9 }, h: { histogram: cost, bins: [0, 100, 1000, 5000] }',
      ),
    );
    expect(jobThreads(checkPipeline(doc, { visits: SCHEMA }), 2)).toBe(2);
    // Through the warm cache, as the enclave runs a job: DuckDB's own table, which it scans in parallel.
    const warm = (): WarmInput => ({
      kind: 'warm',
      key: 'threads-test',
      schema: SCHEMA,
      rows: ROWS,
      data,
      read: async () => data,
    });
    const run = (threads: number) =>
      runPipeline(doc, { visits: warm() }, { threads, warmCacheBytes: 2 ** 28 }).then(canonicalJson);
    const one = await run(1);
    const two = new Set<string>();
    for (let i = 0; i < 4; i++) two.add(await run(2));
    expect([...two]).toEqual([one]);
  }, 60_000);

  it('runs where a serial job or an ingest left the warm cache, else on two threads', async () => {
    const data = await visits();
    // Test files share a process: start from an empty pool.
    dropWarm(() => true);
    closeIdleDuckDBs();
    const input: WarmInput = {
      kind: 'warm',
      key: 'serial-test',
      schema: SCHEMA,
      rows: ROWS,
      data,
      read: async () => data,
    };
    const prefer = [{ key: input.key, columns: ['cost'] }];
    const threadsIn = (opts: Parameters<typeof withDuckDB>[1]) =>
      withDuckDB(async (c) => {
        await warmIntoDuckDB(c, 'v', input, ['cost'], { maxBytes: 2 ** 28 });
        return (await c.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0]?.[0];
      }, opts);
    // Filled at ingest (one thread): the first job after it is warm there, the next order-free one moves it to two.
    expect(await threadsIn({ ingest: true, prefer })).toBe(1n);
    expect(await threadsIn({ threads: 2, prefer })).toBe(1n);
    expect(await threadsIn({ threads: 2, prefer })).toBe(2n);
    expect(await threadsIn({ threads: 2, prefer })).toBe(2n);
    // A serial job moves it back; order-free jobs then stay with it, on one thread.
    expect(await threadsIn({ serial: true, threads: 2, prefer })).toBe(1n);
    expect(await threadsIn({ threads: 2, prefer })).toBe(1n);
    dropWarm(() => true);
    // No cache held anywhere: two.
    expect(
      await withDuckDB(
        async (c) => (await c.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0]?.[0],
        { threads: 2 },
      ),
    ).toBe(2n);
  }, 60_000);
});
