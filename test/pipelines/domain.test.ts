/**
 * Values outside an operation's domain give NULL, never a DuckDB error: a failure that
 * depends on the rows is an oracle (a filter `CASE WHEN <test on one patient> THEN
 * ln(0 - age) ELSE 1 END > 0` fails exactly when the test holds). Each safe form runs in
 * DuckDB over rows that hit the edge: zero and negative numbers, the integer types'
 * extremes, NaN and infinities (CSV has none; exp(1000) makes them).
 */
import { describe, expect, it } from 'vitest';
import { parseDataset } from '../../src/data/index.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';

const CSV = [
  'name,i32,i64,f',
  'zero,0,0,0',
  'neg,-4,-4,-4',
  'pos,4,4,4',
  'min,-2147483648,-9223372036854775808,-1e308',
  'max,2147483647,9223372036854775807,1e308',
  'big,1,1,1000',
].join('\n');

const SCHEMA = [
  { name: 'name', type: 'string' },
  { name: 'i32', type: 'int32' },
  { name: 'i64', type: 'int64' },
  { name: 'f', type: 'float64' },
] as const;

/** Each derived expression's value per row, by row name (privacy off: exact values). */
async function derived(columns: Record<string, string>): Promise<Record<string, Record<string, unknown>>> {
  const data = await parseDataset(new TextEncoder().encode(CSV), 'csv', { schema: [...SCHEMA] });
  const names = Object.keys(columns);
  const doc = parsePipeline(
    JSON.stringify({
      obscura: 1,
      name: 'domain',
      inputs: { t: { columns: { name: 'string', i32: 'int32', i64: 'int64', f: 'float64' } } },
      steps: [
        { id: 'd', derive: { from: 't', columns } },
        // One group per row: the row's name; max() of a single value is the value.
        {
          id: 'agg',
          aggregate: {
            from: 'd',
            group_by: ['name'],
            measures: Object.fromEntries(names.map((n) => [n, { max: n }])),
          },
        },
      ],
      outputs: { agg: {} },
    }),
  );
  const out = await runPipeline(doc, { t: data }, { privacy: false });
  const agg = out.agg;
  if (!agg) throw new Error('no output');
  const cols = agg.columns.map((c) => c.name);
  return Object.fromEntries(
    agg.rows.map((r) => [
      r[cols.indexOf('name')] as string,
      Object.fromEntries(names.map((n) => [n, r[cols.indexOf(n)]])),
    ]),
  );
}

describe('expressions outside their domain', () => {
  it('ln of zero, a negative number or -infinity is NULL; of a positive number, the logarithm', async () => {
    const v = await derived({ a: 'ln(i32)', b: 'ln(i64 - 4)', c: 'ln(f)', d: 'ln(0 - exp(f))' });
    expect(v.zero).toEqual({ a: null, b: null, c: null, d: null });
    expect(v.neg).toMatchObject({ a: null, b: null, c: null });
    expect(v.big?.d).toBeNull();
    expect(v.pos?.a).toBeCloseTo(Math.log(4), 12);
    expect(v.pos?.b).toBeNull();
  });

  it('sqrt of a negative number or -infinity is NULL', async () => {
    const v = await derived({
      a: 'sqrt(i32)',
      b: 'sqrt(f)',
      c: 'sqrt(sqrt(i64) - 3)',
      d: 'sqrt(0 - exp(f))',
    });
    expect(v.neg).toMatchObject({ a: null, b: null, c: null });
    expect(v.big?.d).toBeNull();
    expect(v.pos).toMatchObject({ a: 2, b: 2, c: null });
    expect(v.zero).toMatchObject({ a: 0, b: 0, c: null });
  });

  it('integer + - * % and unary minus that overflow are NULL', async () => {
    const v = await derived({
      add: 'i32 + i32',
      sub: 'i64 - 1',
      mul: 'i64 * 2',
      neg: '-i32',
      mod: 'i64 % -1',
      neg64: '-i64',
      mod32: 'i32 % (i32 - i32 - 1)',
    });
    expect(v.max).toMatchObject({ add: null, mul: null, neg: -2147483647 });
    expect(v.min).toMatchObject({ sub: null, mul: null, neg: null, mod: 0, neg64: null, mod32: 0 });
    expect(v.pos).toEqual({ add: 8, sub: 3, mul: 8, neg: -4, mod: 0, neg64: -4, mod32: 0 });
  });

  it('abs and round of an integer that leave its type are NULL', async () => {
    const v = await derived({
      a32: 'abs(i32)',
      a64: 'abs(i64)',
      r32: 'round(i32, -1)',
      r64: 'round(i64, -1)',
    });
    expect(v.min).toEqual({ a32: null, a64: null, r32: null, r64: null });
    // round(2147483647, -1) would wrap around to -2147483646 in DuckDB's INTEGER rounding.
    expect(v.max).toMatchObject({ a32: 2147483647, r32: null, r64: null });
    expect(v.neg).toEqual({ a32: 4, a64: 4, r32: 0, r64: 0 });
  });

  it('division and remainder by zero are NULL, exp overflows to infinity', async () => {
    const v = await derived({
      d: 'i32 / (i32 - i32)',
      m: 'i64 % (i64 - i64)',
      fm: 'f % 0',
      e: 'exp(f) > 1e300',
    });
    expect(v.pos).toMatchObject({ d: null, m: null, fm: null });
    // An infinite output value reads as null, so compare instead.
    expect(v.big?.e).toBe(true);
    expect(v.max?.e).toBe(true);
  });

  it('stddev and variance skip NaN and infinities and do not overflow', async () => {
    const data = await parseDataset(new TextEncoder().encode(CSV), 'csv', { schema: [...SCHEMA] });
    const doc = parsePipeline(
      JSON.stringify({
        obscura: 1,
        name: 'moments',
        inputs: { t: { columns: { f: 'float64', i64: 'int64' } } },
        steps: [
          // g: 1e308 and -1e308 (whose squares overflow), +infinity, and NaN on the last row.
          {
            id: 'd',
            derive: {
              from: 't',
              columns: { g: 'CASE WHEN f = 1000 THEN exp(f) - exp(f) WHEN f = 4 THEN exp(1000) ELSE f END' },
            },
          },
          {
            id: 'agg',
            aggregate: {
              from: 'd',
              measures: {
                s: { stddev: 'g' },
                v: { variance: 'g' },
                si: { stddev: 'i64' },
                h: { histogram: 'g', bins: 4, bounds: [0, 8] },
              },
            },
          },
        ],
        outputs: { agg: {} },
      }),
    );
    const out = await runPipeline(doc, { t: data }, { privacy: false });
    const [s, v, si, h] = (out.agg?.rows[0] ?? []) as [number, number, number, string];
    expect(Number.isFinite(s)).toBe(true);
    expect(Number.isFinite(v)).toBe(true);
    expect(Number.isFinite(si)).toBe(true);
    // g is 0, -4, +infinity, -1e308, 1e308 and NaN; NaN, like every value above the bounds, counts in the last bin.
    expect(JSON.parse(h)).toEqual([3, 0, 0, 3]);
  });

  it('a data-dependent ln(0 - age) probe runs the same whichever branch the data takes', async () => {
    const where = (name: string) => `CASE WHEN name = '${name}' THEN ln(0 - i64) ELSE 1 END > 0`;
    for (const name of ['pos', 'neg', 'nobody']) {
      const data = await parseDataset(new TextEncoder().encode(CSV), 'csv', { schema: [...SCHEMA] });
      const doc = parsePipeline(
        JSON.stringify({
          obscura: 1,
          name: 'probe',
          inputs: { t: { columns: { name: 'string', i64: 'int64' } } },
          steps: [
            { id: 'f', filter: { from: 't', where: where(name) } },
            { id: 'agg', aggregate: { from: 'f', measures: { n: { count: '*' } } } },
          ],
          outputs: { agg: {} },
        }),
      );
      await expect(runPipeline(doc, { t: data }, { privacy: false })).resolves.toBeDefined();
    }
  });
});
