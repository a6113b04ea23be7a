/**
 * Mergeable partial aggregates against DuckDB on the union: a dataset split into chunks,
 * each chunk's partial computed, serialised, parsed back and merged, then finished — the
 * result must be what the runner releases from all the rows at once (the same groups, the
 * same suppression, integer values exactly, floats to rounding, quantiles within one bin
 * of the partial histogram). A group small in every chunk but large in the union is
 * released; one large in a chunk but small in the union is not. DP applies after the merge.
 */
import { describe, expect, it } from 'vitest';
import { type DatasetSchema, type ParsedDataset, parseDataset } from '../../src/data/index.ts';
import {
  computePartials,
  decodePartial,
  encodePartial,
  finalizePartial,
  mergePartials,
  type PartialAggregate,
  QUANTILE_PARTIAL_BINS,
} from '../../src/pipelines/partials/index.ts';
import { parsePipeline, type PipelineDocument, runPipeline } from '../../src/pipelines/index.ts';
import { caught } from './fixtures.ts';

const SCHEMA: DatasetSchema = [
  { name: 'region', type: 'string' },
  { name: 'k', type: 'int64' },
  { name: 'x', type: 'float64' },
  { name: 'flag', type: 'bool' },
  { name: 'day', type: 'date' },
];
const COLUMNS = '{ region: string, k: int64, x: float64, flag: bool, day: date }';

/** Deterministic rows: chunk c of `chunks`; "rare" has 2 rows in every chunk, "lumpy" 6 rows in chunk 0 only. */
function chunkCsv(c: number, rows: number): string {
  const lines = ['region,k,x,flag,day'];
  let seed = 17 + c * 7919;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const regions = ['north', 'south', 'east', 'west', ''];
  for (let i = 0; i < rows; i++) {
    const region = regions[Math.floor(rnd() * regions.length)] as string;
    const k = Math.floor(rnd() * 1000) - 200;
    const x = rnd() < 0.05 ? '' : (rnd() * 500 - 50).toFixed(3);
    const day = `2024-0${1 + Math.floor(rnd() * 9)}-1${Math.floor(rnd() * 9)}`;
    lines.push(`${region},${k},${x},${rnd() < 0.3},${day}`);
  }
  lines.push(`rare,${c},${c * 1.5},true,2024-01-01`, `rare,${c + 100},2.25,false,2024-02-02`);
  if (c === 0) for (let i = 0; i < 6; i++) lines.push(`lumpy,${i},${i},true,2024-03-03`);
  return `${lines.join('\n')}\n`;
}

const parse = (csv: string): Promise<ParsedDataset> =>
  parseDataset(new TextEncoder().encode(csv), 'csv', { schema: SCHEMA });

function doc(measures: string, opts: { group?: string; output?: string } = {}): PipelineDocument {
  return parsePipeline(`obscura: 1
name: partials
inputs: { t: { columns: ${COLUMNS} } }
steps:
  - id: kept
    filter: { from: t, where: "k > -150" }
  - id: g
    aggregate:
      from: kept
      ${opts.group ?? 'group_by: [region]'}
      measures: ${measures}
outputs: { g: ${opts.output ?? '{ min_group_size: 8 }'} }
`);
}

const ALL = `{
        n: { count: "*" }, nx: { count: x }, sk: { sum: k }, sx: { sum: x, bounds: [0, 400] },
        mx: { mean: x }, mf: { mean: flag }, vx: { variance: x }, sdk: { stddev: k },
        lo: { min: x }, hi: { max: k }, first: { min: day },
        h: { histogram: k, bins: 5, bounds: [-200, 800] }, e: { histogram: x, bins: [-50, 0, 100, 450] },
        p50: { quantile: x, q: 0.5, bounds: [-50, 450] } }`;

async function chunked(n: number, rows: number) {
  const csvs = Array.from({ length: n }, (_, c) => chunkCsv(c, rows));
  const union = await parse(
    ['region,k,x,flag,day', ...csvs.map((s) => s.slice(s.indexOf('\n') + 1).trimEnd())].join('\n'),
  );
  return { chunks: await Promise.all(csvs.map(parse)), union };
}

/** Partials of every chunk, each through bytes and back, merged and finished. */
async function viaPartials(d: PipelineDocument, chunks: ParsedDataset[]) {
  const parts = [];
  for (const chunk of chunks)
    parts.push(decodePartial(encodePartial((await computePartials(d, { t: chunk })).g as PartialAggregate)));
  return finalizePartial(mergePartials(parts));
}

describe('partial aggregates', () => {
  it('merge to what DuckDB releases from the union, suppression included', async () => {
    const { chunks, union } = await chunked(5, 400);
    const d = doc(ALL);
    const want = (await runPipeline(d, { t: union })).g;
    const got = await viaPartials(d, chunks);
    expect(got.columns).toEqual(want?.columns);
    expect(got.suppressedGroups).toBe(want?.suppressedGroups);
    expect(got.suppressedCells).toBe(want?.suppressedCells);
    expect(got.rows.map((r) => r[0])).toEqual(want?.rows.map((r) => r[0]));
    // "rare" has 2 rows per chunk (10 in all): released though no chunk alone reaches 8; "lumpy" (6) is not.
    expect(got.rows.map((r) => r[0])).toContain('rare');
    expect(got.rows.map((r) => r[0])).not.toContain('lumpy');
    const names = got.columns.map((c) => c.name);
    const width = 500 / QUANTILE_PARTIAL_BINS;
    got.rows.forEach((row, g) => {
      const exact = want?.rows[g] as unknown[];
      names.forEach((name, i) => {
        const [a, b] = [row[i], exact[i]];
        if (name === 'p50') expect(Math.abs((a as number) - (b as number))).toBeLessThanOrEqual(2 * width);
        else if (typeof b === 'number' && !Number.isInteger(b)) expect(a as number).toBeCloseTo(b, 6);
        else expect([name, a]).toEqual([name, b]);
      });
    });
    // A single chunk's partial, finished alone, suppresses "rare".
    const alone = finalizePartial(
      (await computePartials(d, { t: chunks[1] as ParsedDataset })).g as PartialAggregate,
    );
    expect(alone.rows.map((r) => r[0])).not.toContain('rare');
  });

  it('merge without group_by, and in any order to the same integers', async () => {
    const { chunks, union } = await chunked(3, 300);
    const d = doc(
      `{ n: { count: "*" }, sk: { sum: k }, hi: { max: k }, h: { histogram: k, bins: 4, bounds: [-200, 800] } }`,
      {
        group: '',
      },
    );
    const want = (await runPipeline(d, { t: union })).g;
    expect((await viaPartials(d, chunks)).rows).toEqual(want?.rows);
    expect((await viaPartials(d, [...chunks].reverse())).rows).toEqual(want?.rows);
  });

  it('apply DP after the merge, with the release code of a local run', async () => {
    const { chunks, union } = await chunked(4, 300);
    const d = doc(
      `{ n: { count: "*" }, sx: { sum: x, bounds: [0, 400] }, mx: { mean: x, bounds: [-50, 450] }, p: { quantile: x, q: 0.5, bounds: [-50, 450] } }`,
      { output: '{ min_group_size: 5, dp: { epsilon: 1, delta: 0.000001 } }' },
    );
    const parts = await Promise.all(
      chunks.map(async (c) => (await computePartials(d, { t: c })).g as PartialAggregate),
    );
    const merged = mergePartials(parts);
    const none = finalizePartial(merged, { noise: (v) => v });
    const exact = (await runPipeline(d, { t: union }, { privacy: false })).g;
    expect(none.dp?.epsilon).toBe(1);
    // With zero noise, groups above the threshold come out with the exact union values.
    const threshold = none.dp?.threshold as number;
    const big = exact?.rows.filter((r) => (r[1] as number) >= threshold) ?? [];
    expect(none.rows.map((r) => r[0])).toEqual(big.map((r) => r[0]));
    none.rows.forEach((r, i) => {
      expect(r[1]).toBe(big[i]?.[1]);
      expect(r[2] as number).toBeCloseTo(big[i]?.[2] as number, 6);
    });
    const noisy = finalizePartial(merged);
    expect(noisy.dp).toEqual(none.dp);
  });

  it('refuse what cannot merge, and partials of different plans', async () => {
    const { chunks } = await chunked(1, 50);
    const t = chunks[0] as ParsedDataset;
    await caught(
      () => computePartials(doc('{ d: { count_distinct: k } }'), { t }),
      'pipeline_partial_unsupported',
    );
    await caught(
      () => computePartials(doc('{ q: { quantile: x, q: 0.5 } }'), { t }),
      'pipeline_partial_unsupported',
    );
    const a = (await computePartials(doc('{ n: { count: "*" } }'), { t })).g as PartialAggregate;
    const b = (await computePartials(doc('{ m: { count: "*" } }'), { t })).g as PartialAggregate;
    await caught(() => mergePartials([a, b]), 'pipeline_partial_mismatch');
    await caught(
      () => decodePartial(new TextEncoder().encode('{"obscura_partial":2}')),
      'pipeline_partial_mismatch',
    );
    const bad = JSON.parse(new TextDecoder().decode(encodePartial(a)));
    bad.groups[0].rows = [-1];
    const e = await caught(() => decodePartial(bad), 'pipeline_partial_mismatch');
    expect(e.message).toContain('groups.0.rows');
  });
});
