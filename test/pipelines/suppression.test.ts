/**
 * min_group_size counts distinct rows of each input behind every output row, and
 * suppresses a group when any input has fewer than the threshold behind it — after joins
 * (where one input row can stand behind many joined rows), after a left join (an input
 * with no rows behind a group), for aggregates of aggregates (whose groups may share input
 * rows) and for self-joins. Tiny hand-made datasets, expectations worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { type ParsedDataset, parseDataset } from '../../src/data/index.ts';
import { type PipelineOutput, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { sampleVisits } from './fixtures.ts';

const csv = (text: string) => parseDataset(new TextEncoder().encode(`${text.trim()}\n`), 'csv');

// Region A: three patients, one of whom (p1) has five lab results. Region B: three patients
// with one result each. Region C: three patients without results. Region E: one patient
// (p20) visiting four times, with one result.
const VISITS = `pid,region
p1,A
p2,A
p3,A
p4,B
p5,B
p6,B
p7,C
p8,C
p9,C
p20,E
p20,E
p20,E
p20,E`;
const LABS = `pid,kind,val
p1,x,1.0
p1,y,2.0
p1,x,3.0
p1,y,4.0
p1,x,5.0
p4,x,1.5
p5,y,2.5
p6,x,3.5
p20,x,9.0`;

async function data(): Promise<{ visits: ParsedDataset; labs: ParsedDataset }> {
  return { visits: await csv(VISITS), labs: await csv(LABS) };
}

async function run(
  steps: unknown[],
  k: number,
  inputs: Record<string, ParsedDataset>,
  cols?: Record<string, Record<string, string>>,
): Promise<PipelineOutput> {
  const columns = cols ?? {
    visits: { pid: 'string', region: 'string' },
    labs: { pid: 'string', kind: 'string', val: 'float64' },
  };
  const declared = Object.fromEntries(Object.keys(inputs).map((n) => [n, { columns: columns[n] }]));
  const doc = parsePipeline(
    JSON.stringify({
      obscura: 1,
      name: 's',
      inputs: declared,
      steps,
      outputs: { out: { min_group_size: k } },
    }),
  );
  const out = (await runPipeline(doc, inputs)).out;
  if (!out) throw new Error('no output');
  return out;
}

const byRegion = (how: 'inner' | 'left') => [
  { id: 'j', join: { left: 'visits', right: 'labs', on: ['pid'], how } },
  {
    id: 'out',
    aggregate: {
      from: 'j',
      group_by: ['region'],
      measures: { rows: { count: '*' }, results: { count: 'val' } },
    },
  },
];

describe('min_group_size per input', () => {
  it('counts distinct rows of each input behind a joined group, not joined rows', async () => {
    const inputs = await data();
    // Privacy off: every group with rows of both inputs.
    expect((await run(byRegion('inner'), 1, inputs)).rows).toEqual([
      ['A', 5, 5],
      ['B', 3, 3],
      ['E', 4, 4],
    ]);
    // A has 5 joined rows but 1 visit behind them; E has 4 visits but 1 result: both held back.
    const out = await run(byRegion('inner'), 3, inputs);
    expect(out.rows).toEqual([['B', 3, 3]]);
    expect(out.suppressedGroups).toBe(2);
  });

  it('counts zero rows of an input behind a left-join group as fewer than any threshold', async () => {
    const inputs = await data();
    const out = await run(byRegion('left'), 1, inputs);
    // C's three visits matched no result: no row of labs is behind it, so even k = 1 holds it back.
    expect(out.rows).toEqual([
      ['A', 7, 5],
      ['B', 3, 3],
      ['E', 4, 4],
    ]);
    expect(out.suppressedGroups).toBe(1);
    // At k = 2, E (one result behind four visits) goes too.
    expect((await run(byRegion('left'), 2, inputs)).rows.map((r) => r[0])).toEqual(['A', 'B']);
  });

  it('unions the rows behind groups of groups, which may share input rows', async () => {
    const inputs = await data();
    const steps = (second: Record<string, unknown>) => [
      { id: 'j', join: { left: 'visits', right: 'labs', on: ['pid'] } },
      {
        id: 'per_kind',
        aggregate: { from: 'j', group_by: ['region', 'kind'], measures: { n: { count: '*' } } },
      },
      {
        id: 'out',
        aggregate: { from: 'per_kind', measures: { groups: { count: '*' }, results: { sum: 'n' } } },
        ...second,
      },
    ];
    // All five groups together: 12 joined rows, but 1 + 3 + 4 = 8 distinct visits and 9
    // results behind the total — p1's visit stands behind both of A's kind groups but counts once.
    expect((await run(steps({}), 8, inputs)).rows).toEqual([[5, 12]]);
    expect((await run(steps({}), 9, inputs)).suppressedGroups).toBe(1);
    // Only region A's groups: p1's single visit behind both kinds, so 1 visit, not 2.
    const onlyA = [
      { id: 'j', join: { left: 'visits', right: 'labs', on: ['pid'] } },
      {
        id: 'per_kind',
        aggregate: { from: 'j', group_by: ['region', 'kind'], measures: { n: { count: '*' } } },
      },
      { id: 'a', filter: { from: 'per_kind', where: "region = 'A'" } },
      { id: 'out', aggregate: { from: 'a', group_by: ['region'], measures: { results: { sum: 'n' } } } },
    ];
    expect((await run(onlyA, 1, inputs)).rows).toEqual([['A', 5]]);
    expect((await run(onlyA, 2, inputs)).suppressedGroups).toBe(1);
  });

  it('follows the rows behind an aggregate that is joined again', async () => {
    const inputs = await data();
    const steps = [
      {
        id: 'per_patient',
        aggregate: { from: 'labs', group_by: ['pid'], measures: { results: { count: '*' } } },
      },
      { id: 'j', join: { left: 'visits', right: 'per_patient', on: ['pid'] } },
      {
        id: 'out',
        aggregate: { from: 'j', group_by: ['region'], measures: { results: { sum: 'results' } } },
      },
    ];
    expect((await run(steps, 1, inputs)).rows).toEqual([
      ['A', 5],
      ['B', 3],
      ['E', 4],
    ]);
    // A: one visit behind it; E: four visits but one lab result (behind p20's single group).
    const out = await run(steps, 3, inputs);
    expect(out.rows).toEqual([['B', 3]]);
    expect(out.suppressedGroups).toBe(2);
  });

  it('sums the rows behind groups of one input, which cannot share rows', async () => {
    const visits = await sampleVisits();
    const columns = { visits: { region: 'string', age: 'int64' } };
    const steps = [
      {
        id: 'per_region',
        aggregate: { from: 'visits', group_by: ['region'], measures: { n: { count: '*' } } },
      },
      { id: 'big', filter: { from: 'per_region', where: 'n >= 20' } },
      { id: 'out', aggregate: { from: 'big', measures: { regions: { count: '*' }, visits: { sum: 'n' } } } },
    ];
    const out = await run(steps, 1992, { visits }, columns);
    // Five regions of at least 20 visits, 1,992 visits behind them (islands' 8 are filtered out).
    expect(out.rows).toEqual([[5, 1992]]);
    expect((await run(steps, 1993, { visits }, columns)).suppressedGroups).toBe(1);
  });

  it('counts an input joined with itself once per row', async () => {
    const inputs = { visits: (await data()).visits };
    const steps = [
      { id: 'pairs', join: { left: 'visits', right: 'visits', on: ['pid'] } },
      {
        id: 'out',
        aggregate: { from: 'pairs', group_by: ['left_region'], measures: { pairs: { count: '*' } } },
      },
    ];
    // E: p20's four visits pair up 16 times, but four visits are behind them.
    expect((await run(steps, 4, inputs)).rows).toEqual([['E', 16]]);
    expect((await run(steps, 5, inputs)).rows).toEqual([]);
  });
});

describe('histogram cells are groups for min_group_size', () => {
  it('nulls every cell with fewer distinct rows behind it, empty ones included, and counts them', async () => {
    // val over [0, 10) in 5 bins: p1's five results fall in bins 0, 1, 1, 2, 2; p4 0; p5 1; p6 1; p20 4.
    const steps = [
      {
        id: 'out',
        aggregate: {
          from: 'labs',
          measures: { n: { count: '*' }, h: { histogram: 'val', bins: 5, bounds: [0, 10] } },
        },
      },
    ];
    const exact = await run(steps, 1, await data());
    expect(exact.rows).toEqual([[9, '[2,4,2,0,1]']]);
    expect(exact.suppressedCells).toBe(0);
    // Cells 3 and 4 hide one row between them, which 9 minus the shown cells would give
    // away: the smallest shown cell (the first of equals) is hidden with them.
    const two = await run(steps, 2, await data());
    expect(two.rows).toEqual([[9, '[null,4,2,null,null]']]);
    expect(two.suppressedCells).toBe(3);
  });

  it('counts distinct rows of each input behind a cell after a join, not joined rows', async () => {
    // Joined: p1's one visit stands behind its five results, p20's one result behind four visits.
    const steps = [
      { id: 'j', join: { left: 'visits', right: 'labs', on: ['pid'] } },
      {
        id: 'out',
        aggregate: {
          from: 'j',
          measures: { n: { count: '*' }, h: { histogram: 'val', bins: 5, bounds: [0, 10] } },
        },
      },
    ];
    const out = await run(steps, 2, await data());
    // Cell 0: p1 and p4 (2 visits, 2 results); cell 1: p1 twice, p5, p6 (3 visits, 4 results);
    // cell 2: p1's 4.0 and 5.0 (2 joined rows, 1 visit); cell 4: p20 (4 joined rows, 1 result).
    expect(out.rows).toEqual([[12, '[2,4,null,null,null]']]);
    expect(out.suppressedCells).toBe(3);
  });
});
