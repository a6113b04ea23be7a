/**
 * An analyst who wants a two-thread job's signed result to depend on the order its rows
 * reach DuckDB (so that it cannot be reproduced, or so that it tells how the threads ran):
 * every job the enclave runs on two threads (pipelines/threads.ts) must give the same bytes
 * for any order of the same rows. Checked deterministically, on one thread, over the rows
 * and their reverse: floats that cancel (1e16 − 1e16 + 1), signed zeros (−0.0 and 0.0 are
 * one group and compare equal, so min, max and a group key keep whichever came first), and
 * the values derive can make of them. A float sum, which does depend on the order, is kept
 * on one thread — or split in two halves of the rows (pipelines/split.ts), each summed on its
 * own thread in row order and merged in a fixed order: such a job must give the same bytes
 * every time it runs over the same rows in the same order, however its threads are timed
 * (checked with floats that cancel across the cut and several runs at once).
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/common/hash.ts';
import { parseDataset } from '../../src/data/index.ts';
import { checkPipeline, jobThreads, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { SPLIT_ALIGN, SPLIT_MIN_ROWS, splitJob } from '../../src/pipelines/threads.ts';

const ROWS = [
  ['a', '1e16', '-0.0', '-0.3'],
  ['a', '-1e16', '0.0', '0.2'],
  ['a', '1', '-0.0', '-0.1'],
  ['b', '-0.0', '0.0', '-0.4'],
  ['b', '0.0', '-0.0', '0.0'],
  ['-0.0', '2', '3', '4'],
];

async function dataset(rows: string[][]) {
  const text = `k,x,z,f\n${rows.map((r) => r.join(',')).join('\n')}\n`;
  return parseDataset(Buffer.from(text), 'csv', {
    schema: [
      { name: 'k', type: 'string' },
      { name: 'x', type: 'float64' },
      { name: 'z', type: 'float64' },
      { name: 'f', type: 'float64' },
    ],
  });
}

function pipeline(measures: string, groupBy = 'k'): string {
  return `obscura: 1
name: order
inputs: { t: { columns: { k: string, x: float64, z: float64, f: float64 } } }
steps:
  - id: d
    derive: { from: t, columns: { c: "ceil(f)", r: "round(z)", s: "sqrt(abs(z)) * -1", i: "1 / z" } }
  - id: g
    aggregate: { from: d, group_by: [${groupBy}], measures: { ${measures} } }
outputs: { g: { min_group_size: 1 } }
`;
}

/** The job's result over the rows and over their reverse, and the threads it would run on. */
async function bothOrders(text: string) {
  const doc = parsePipeline(text);
  const forward = await dataset(ROWS);
  const backward = await dataset([...ROWS].reverse());
  const threads = jobThreads(checkPipeline(doc, { t: forward.schema }), 2);
  const run = async (t: Awaited<ReturnType<typeof dataset>>) =>
    canonicalJson(await runPipeline(doc, { t }, { threads: 1 }));
  return { threads, forward: await run(forward), backward: await run(backward) };
}

describe('a two-thread job cannot depend on the order of its rows', () => {
  it('gives the same bytes for the rows in either order: extremes, counts, quantiles, histograms of floats and signed zeros', async () => {
    for (const [measures, groupBy] of [
      ['lo: { min: x }, hi: { max: x }, n: { count: x }', 'k'],
      ['lo: { min: z }, hi: { max: z }, q: { quantile: z, q: 0.5 }', 'k'],
      ['lo: { min: c }, hi: { max: r }, s: { min: s }, i: { max: i }', 'k'],
      ['h: { histogram: z, bins: [-1, 0, 1] }, q: { quantile: x, q: 0.9 }', 'k'],
      // Signed zeros as group keys (one group, keyed by whichever came first).
      ['n: { count: "*" }', 'c'],
      ['n: { count: "*" }, hi: { max: x }', 'r'],
    ] as [string, string][]) {
      const r = await bothOrders(pipeline(measures, groupBy));
      expect(r.threads, measures).toBe(2);
      expect(r.backward, measures).toBe(r.forward);
    }
  });

  it('keeps a float sum, which the order changes, on one thread', async () => {
    const r = await bothOrders(pipeline('s: { sum: x }'));
    // 1e16 − 1e16 + 1 is 1 in that order; 1 − 1e16 + 1e16 is 0.
    expect(r.backward).not.toBe(r.forward);
    expect(r.threads).toBe(1);
  });
});

describe('a split job cannot depend on how its halves were timed', () => {
  it('gives one result run after run, several at once, for rows in either order, with floats that cancel across the cut', async () => {
    // Huge values that cancel only across the cut (one half holds +1e16, the other -1e16), so
    // the merge order shows in the last bits; small values everywhere else.
    const rows: string[][] = [];
    for (let i = 0; i < SPLIT_MIN_ROWS + 1000; i++) {
      const near = i === SPLIT_ALIGN - 1 ? '1e16' : i === SPLIT_ALIGN ? '-1e16' : String((i % 7) * 0.1 - 0.3);
      rows.push([i % 3 === 0 ? 'a' : 'b', near, String(-((i % 5) * 0.7)), '0.5']);
    }
    const doc = parsePipeline(pipeline('s: { sum: x }, m: { mean: z }, v: { variance: x }, n: { count: x }'));
    for (const order of [rows, [...rows].reverse()]) {
      const data = await dataset(order);
      expect(splitJob(doc, { t: data.schema }, data.rows, true)).toBeDefined();
      const results = new Set<string>();
      // Three at once (their halves' threads interleave), then one alone.
      const runs = await Promise.all([0, 1, 2].map(() => runPipeline(doc, { t: data })));
      for (const r of [...runs, await runPipeline(doc, { t: data })]) results.add(canonicalJson(r));
      expect(results.size).toBe(1);
      // The sum is signed and finite: the halves' partial sums were added, not lost.
      const sum = JSON.parse([...results][0] as string).g.rows.map((r: unknown[]) => r[1]);
      for (const s of sum) expect(Number.isFinite(s)).toBe(true);
    }
  }, 60_000);
});
