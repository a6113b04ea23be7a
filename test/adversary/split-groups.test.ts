/**
 * A curious analyst against split jobs (src/pipelines/split.ts: two halves of the rows, their
 * partial aggregates merged before anything is released). A small group whose rows sit on
 * both sides of the cut must be judged by its merged size: with a min_group_size above it,
 * it is suppressed although each half alone knows it; with one below it, it is released with
 * its whole count and sum, never a half's. Either way the split job releases exactly what
 * the same job run whole releases, so the cut tells nothing about the rows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeIdleDuckDBs } from '../../src/data/duckdb.ts';
import { type DatasetSchema, parseDataset } from '../../src/data/index.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { splitJob } from '../../src/pipelines/threads.ts';

afterAll(() => closeIdleDuckDBs());

const SCHEMA: DatasetSchema = [
  { name: 'region', type: 'string' },
  { name: 'cost', type: 'int64' },
];
const ROWS = 300_000;
/** Where the 'rare' rows sit: two before the cut (131,072), two after it. */
const RARE = new Map([
  [10, 7],
  [20, 11],
  [200_000, 13],
  [299_990, 17],
]);

const pipeline = (minGroupSize: number) =>
  parsePipeline(`obscura: 1
name: split-groups
inputs: { visits: { columns: { region: string, cost: int64 } } }
steps:
  - id: g
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, s: { sum: cost } } }
outputs: { g: { min_group_size: ${minGroupSize} } }
`);

describe('split jobs and small groups', () => {
  it('judge a group across the cut by its merged size, as a whole run does', async () => {
    const lines = ['region,cost'];
    for (let i = 0; i < ROWS; i++) lines.push(`${RARE.has(i) ? 'rare' : 'common'},${RARE.get(i) ?? 1}`);
    const data = await parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv', { schema: SCHEMA });
    // 5: above the merged 4 rows, suppressed though no half decides alone. 3: above each
    // half's 2 rows but not the merged 4, released whole. 2: each half alone would pass it.
    for (const minGroupSize of [5, 3, 2]) {
      const doc = pipeline(minGroupSize);
      expect(splitJob(doc, { visits: SCHEMA }, ROWS, true)).toBeDefined();
      const split = (await runPipeline(doc, { visits: data })).g;
      const whole = (await runPipeline(doc, { visits: data }, { split: false })).g;
      expect(split).toEqual(whole);
      const rare = split?.rows.find((r) => r[0] === 'rare');
      if (minGroupSize > 4) {
        expect(rare).toBeUndefined();
        expect(split?.suppressedGroups).toBe(1);
      } else {
        // Released with the whole group's count and sum (4 rows, 48), never a half's (2 rows).
        expect(rare?.slice(1)).toEqual([4, 48]);
      }
    }
  }, 60_000);
});
