/**
 * An analyst who wants a two-thread job's signed result to depend on the order its rows
 * reach DuckDB (so that it cannot be reproduced, or so that it tells how the threads ran):
 * every job the enclave runs on two threads (pipelines/threads.ts) must give the same bytes
 * for any order of the same rows. Checked deterministically, on one thread, over the rows
 * and their reverse: floats that cancel (1e16 − 1e16 + 1), signed zeros (−0.0 and 0.0 are
 * one group and compare equal, so min, max and a group key keep whichever came first), and
 * the values derive can make of them. A float sum, which does depend on the order, is kept
 * on one thread.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/common/hash.ts';
import { parseDataset } from '../../src/data/index.ts';
import { checkPipeline, jobThreads, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';

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
