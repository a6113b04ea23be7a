/**
 * Jobs split in two halves of their input's rows, run on two connections of one one-thread
 * DuckDB at once and merged in a fixed order (src/pipelines/split.ts): which jobs split and
 * where (threads.ts splitJob, from the plan and the row count only); a float job's result
 * the same bytes run after run, warm (the cached table by rowid) and cold (the store's
 * chunks scanned, cut at a chunk boundary or inside a chunk), and from a parsed dataset;
 * exact measures, min_group_size and histogram cells equal to a whole run's; the row limit
 * applied to the whole; a damaged chunk in either half fails the job as store_corrupt, and
 * the pool goes on working.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import { canonicalJson, sha256Hex } from '../../src/common/hash.ts';
import { generateIdentity } from '../../src/crypto/index.ts';
import { closeIdleDuckDBs } from '../../src/data/duckdb.ts';
import {
  type DatasetSchema,
  dropWarm,
  type ParsedDataset,
  parseDataset,
  type WarmInput,
  warmKey,
} from '../../src/data/index.ts';
import { STORE_CHUNK_ROWS } from '../../src/enclave/store/format.ts';
import { readStore, readStoreIndex } from '../../src/enclave/store/read.ts';
import { storeRows } from '../../src/enclave/store/read-rows.ts';
import { writeStore } from '../../src/enclave/store/write.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { JobGuard } from '../../src/pipelines/limits.ts';
import { SPLIT_ALIGN, SPLIT_MIN_ROWS, splitJob } from '../../src/pipelines/threads.ts';
import { corruptAt } from '../enclave/fixtures/store-corrupt.ts';
import { examplePipelines } from './fixtures.ts';

const SCHEMA: DatasetSchema = [
  { name: 'region', type: 'string' },
  { name: 'age', type: 'int64' },
  { name: 'cost', type: 'float64' },
];
/** Over SPLIT_MIN_ROWS: cut at 131,072, the second half longer. */
const ROWS = 300_000;

const work = mkdtempSync(join(tmpdir(), 'obscura-split-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  dropWarm(() => true);
  closeIdleDuckDBs();
});
const me = generateIdentity().identity;
const H = 'b'.repeat(64);

/** A pipeline over SCHEMA's `visits`: adults' measures by region. */
function byRegion(measures: string, minGroupSize = 1, extra = ''): string {
  return `obscura: 1
name: split
inputs: { visits: { columns: { region: string, age: int64, cost: float64 } } }
steps:
  - id: adults
    filter: { from: visits, where: "age >= 18" }
  - id: g
    aggregate: { from: adults, group_by: [region], measures: { ${measures} } }${extra}
outputs: { g: { min_group_size: ${minGroupSize} } }
`;
}

const FLOATS =
  'n: { count: "*" }, s: { sum: cost }, m: { mean: cost }, sd: { stddev: cost }, v: { variance: cost }';

let made: Promise<ParsedDataset> | undefined;
function visits(): Promise<ParsedDataset> {
  made ??= (async () => {
    // 'islands' is rare, so a min_group_size can suppress it; costs are floats that round.
    const regions = ['north', 'south', 'east', 'west', 'central', 'north', 'south', 'islands'];
    const lines = ['region,age,cost'];
    let x = 11;
    const next = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    for (let i = 0; i < ROWS; i++) {
      const r = next() < 0.0002 ? 7 : (next() * 7) | 0;
      lines.push(`${regions[r]},${(next() * 90) | 0},${(next() * 5000) | 0}.${(next() * 1000) | 0}`);
    }
    return parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv', { schema: SCHEMA });
  })();
  return made;
}

/** The dataset's store with `chunkRows`-row chunks, as a warm-cache input as jobs get it. */
async function stored(
  name: string,
  chunkRows: number,
): Promise<{ dir: string; input: () => Promise<WarmInput> }> {
  const data = await visits();
  const dir = join(work, name);
  await writeStore(dir, data, H, me, chunkRows);
  const opts = { dataset: 'd1', ageIdentity: me, schema: SCHEMA, columns: ['region', 'age', 'cost'] };
  const input = async (): Promise<WarmInput> => {
    const index = await readStoreIndex(dir, 'd1', H, me);
    if (!index) throw new Error('no store');
    return {
      kind: 'warm',
      key: warmKey(H, sha256Hex(canonicalJson(index))),
      schema: SCHEMA,
      rows: index.rows,
      read: () => readStore(dir, index, opts),
      chunked: () => storeRows(dir, index, opts),
    };
  };
  return { dir, input };
}

describe('which jobs split, and where', () => {
  const split = (text: string, rows = ROWS, privacy = true) =>
    splitJob(parsePipeline(text), { visits: SCHEMA }, rows, privacy);

  it('splits a job over one input whose every output merges exactly, at a chunk boundary near the middle', () => {
    for (const m of [
      FLOATS,
      'lo: { min: cost }, hi: { max: age }',
      's: { sum: age }',
      'h: { histogram: cost, bins: [0, 100, 1000, 5000] }',
    ])
      expect(split(byRegion(m))?.cut, m).toBe(SPLIT_ALIGN);
    expect(SPLIT_ALIGN).toBe(STORE_CHUNK_ROWS);
    expect(split(byRegion(FLOATS), 10_000_000)?.cut).toBe(38 * SPLIT_ALIGN);
    expect(split(byRegion(FLOATS), SPLIT_MIN_ROWS)?.cut).toBe(SPLIT_ALIGN);
    // A DP quantile is released from an exact histogram (dp.ts): it merges exactly.
    const dp = `
    dp: { epsilon: 1, delta: 1.0e-6 }`;
    expect(
      split(
        byRegion('q: { quantile: cost, q: 0.5, bounds: [0, 5000] }').replace(
          'min_group_size: 1 }',
          `min_group_size: 1,${dp} }`,
        ),
      ),
    ).toBeDefined();
  });

  it('follows the example pipelines over 10M rows: aggregates split, models do not', () => {
    const splits: Record<string, boolean> = {};
    for (const [file, text] of examplePipelines()) {
      const doc = parsePipeline(text);
      const schemas = Object.fromEntries(
        Object.entries(doc.inputs).map(([name, i]) => [
          name,
          Object.entries(i.columns).map(([column, type]) => ({ name: column, type })),
        ]),
      );
      splits[file.replace(/\.ya?ml$/, '')] = splitJob(doc, schemas, 10_000_000, true) !== undefined;
    }
    expect(splits).toMatchObject({
      'cost-by-region': true,
      'fraud-by-channel': true,
      'cost-model': false,
      'readmission-model': false,
    });
  });

  it('runs whole a job that does not merge exactly, reads two inputs or a join, or is small', () => {
    expect(split(byRegion(FLOATS), SPLIT_MIN_ROWS - 1)).toBeUndefined();
    // A quantile's partial is an approximate histogram; distinct counts do not merge.
    expect(split(byRegion('q: { quantile: cost, q: 0.9 }'))).toBeUndefined();
    expect(split(byRegion('q: { quantile: cost, q: 0.9, bounds: [0, 5000] }'))).toBeUndefined();
    expect(split(byRegion('d: { count_distinct: age }'))).toBeUndefined();
    // A self-join: rows of one half meet rows of the other.
    expect(
      split(
        byRegion('n: { count: "*" }', 1, '').replace(
          '  - id: adults\n    filter: { from: visits, where: "age >= 18" }',
          '  - id: adults\n    join: { left: visits, right: visits, on: [region], how: inner }',
        ),
      ),
    ).toBeUndefined();
    // An aggregate another step reads.
    expect(
      split(
        byRegion(
          'n: { count: "*" }',
          1,
          '\n  - id: f\n    aggregate: { from: g, measures: { k: { count: "*" } } }',
        ).replace('outputs: { g:', 'outputs: { f:'),
      ),
    ).toBeUndefined();
  });
});

describe('a split job', () => {
  it('gives the same bytes run after run, warm and cold, cut at a chunk boundary or inside a chunk', async () => {
    const doc = parsePipeline(byRegion(FLOATS));
    const data = await visits();
    const results = new Set<string>();
    const parsed = canonicalJson(await runPipeline(doc, { visits: data }));
    results.add(parsed);
    results.add(canonicalJson(await runPipeline(doc, { visits: data })));
    for (const [name, chunkRows] of [
      ['aligned', STORE_CHUNK_ROWS],
      ['inside', 50_000],
    ] as const) {
      const { input } = await stored(name, chunkRows);
      dropWarm(() => true);
      // Cold (no cache room: the halves scan their chunks), the cache's fill, then warm.
      for (const warmCacheBytes of [0, 2 ** 28, 2 ** 28])
        results.add(canonicalJson(await runPipeline(doc, { visits: await input() }, { warmCacheBytes })));
    }
    expect(results.size).toBe(1);
    // The whole run on one thread adds in another order: the same to rounding only.
    const whole = (await runPipeline(doc, { visits: data }, { split: false })).g;
    const halves = JSON.parse(parsed).g as typeof whole;
    expect(halves?.rows.map((r) => r[0])).toEqual(whole?.rows.map((r) => r[0]));
    for (const [i, row] of (whole?.rows ?? []).entries())
      for (const [j, v] of row.entries()) {
        const w = halves?.rows[i]?.[j];
        if (typeof v === 'number')
          expect(Math.abs((w as number) - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-12);
        else expect(w).toBe(v);
      }
  }, 120_000);

  it('releases exact measures, min_group_size and histogram cells as a whole run does', async () => {
    const data = await visits();
    for (const [measures, min] of [
      ['n: { count: "*" }, s: { sum: age }, lo: { min: cost }, hi: { max: cost }', 100],
      ['h: { histogram: cost, bins: [0, 10, 1000, 5000] }, n: { count: cost }', 40],
    ] as const) {
      const doc = parsePipeline(byRegion(measures, min));
      const halves = await runPipeline(doc, { visits: data });
      const whole = await runPipeline(doc, { visits: data }, { split: false });
      expect(canonicalJson(halves), measures).toBe(canonicalJson(whole));
      // Something was suppressed, so the rule was tested.
      expect((whole.g?.suppressedGroups ?? 0) + (whole.g?.suppressedCells ?? 0), measures).toBeGreaterThan(0);
    }
  }, 60_000);

  it('releases a DP output as a whole run does: the same columns, groups and DP terms, noised once', async () => {
    const data = await visits();
    const doc = parsePipeline(
      byRegion(
        'n: { count: "*" }, m: { mean: cost, bounds: [0, 5000] }, q: { quantile: cost, q: 0.5, bounds: [0, 5000] }',
      ).replace('min_group_size: 1 }', 'min_group_size: 10, dp: { epsilon: 1, delta: 1.0e-6 } }'),
    );
    expect(splitJob(doc, { visits: SCHEMA }, ROWS, true)).toBeDefined();
    const halves = (await runPipeline(doc, { visits: data })).g;
    const whole = (await runPipeline(doc, { visits: data }, { split: false })).g;
    expect(halves?.columns).toEqual(whole?.columns);
    expect(halves?.dp).toEqual(whole?.dp);
    // The large groups (tens of thousands of rows) pass the noisy threshold (71 here) either
    // way; 'islands' (about 50) falls either side of it as the noise, fresh each run, goes.
    const large = (o: typeof whole) => o?.rows.map((r) => r[0]).filter((k) => k !== 'islands');
    expect(large(halves)).toEqual(large(whole));
    expect(large(halves)?.length).toBe(5);
  }, 60_000);

  it('counts the row limit over the whole: a step over it fails though each half is under it', async () => {
    const data = await visits();
    // The filter, read by two outputs, is materialised: ~240,000 rows, each half under 200,000.
    const text = `${byRegion('n: { count: "*" }')
      .replace('outputs: { g: { min_group_size: 1 } }', '')
      .trimEnd()}
  - id: h
    aggregate: { from: adults, group_by: [region], measures: { m: { max: age } } }
outputs: { g: { min_group_size: 1 }, h: { min_group_size: 1 } }
`;
    const doc = parsePipeline(text);
    expect(splitJob(doc, { visits: SCHEMA }, ROWS, true)).toBeDefined();
    for (const split of [true, false]) {
      const guard = new JobGuard({ timeoutMs: 60_000, maxRows: 200_000 });
      await expect(runPipeline(doc, { visits: data }, { guard, split })).rejects.toMatchObject({
        code: 'job_limit_exceeded',
      });
      guard.dispose();
    }
  }, 60_000);

  it('fails as store_corrupt when a chunk of either half is damaged, and the pool goes on', async () => {
    const doc = parsePipeline(byRegion(FLOATS));
    for (const chunk of [0, 2]) {
      const { dir, input } = await stored(`damaged${chunk}`, STORE_CHUNK_ROWS);
      const index = await readStoreIndex(dir, 'd1', H, me);
      if (!index) throw new Error('no store');
      // Column 2 (cost): one flipped bit in chunk 0 (the first half) or 2 (the second).
      const file = join(dir, 'c2');
      const bytes = readFileSync(file);
      const [offset, length] = (index.extents[2] as [number, number][])[chunk] as [number, number];
      bytes[offset + length - 20] = (bytes[offset + length - 20] as number) ^ 1;
      writeFileSync(file, bytes);
      for (const warmCacheBytes of [0, 2 ** 28]) {
        dropWarm(() => true);
        const given = await input();
        const where = await corruptAt(() => runPipeline(doc, { visits: given }, { warmCacheBytes }));
        expect(where).toBe(`column 2, chunk ${chunk}`);
      }
    }
    // The databases were closed or kept clean: the next split job runs.
    const ok = await runPipeline(doc, { visits: await visits() });
    expect(ok.g?.rows.length).toBeGreaterThan(0);
  }, 120_000);

  it('stops both halves when the job is cancelled, and fails as that', async () => {
    const doc = parsePipeline(byRegion(FLOATS));
    const guard = new JobGuard({ timeoutMs: 60_000, maxRows: 1e9 });
    guard.cancel();
    const err = await runPipeline(doc, { visits: await visits() }, { guard }).catch((e: unknown) => e);
    expect(isObscuraError(err, 'job_cancelled')).toBe(true);
    guard.dispose();
  });

  it('stops both halves at the deadline, wherever they are, and fails as the time limit', async () => {
    const doc = parsePipeline(byRegion(FLOATS));
    const data = await visits();
    for (const timeoutMs of [1, 4]) {
      const guard = new JobGuard({ timeoutMs, maxRows: 1e9 });
      const err = await runPipeline(doc, { visits: data }, { guard }).catch((e: unknown) => e);
      expect(isObscuraError(err, 'job_limit_exceeded'), String(err)).toBe(true);
      guard.dispose();
    }
    // The pool's next split job runs.
    expect((await runPipeline(doc, { visits: data })).g?.rows.length).toBeGreaterThan(0);
  });
});
