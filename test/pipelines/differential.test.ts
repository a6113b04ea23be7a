/**
 * Differential test: filter + aggregate pipelines run through the whole enclave path (our
 * CSV parser, Arrow, the loader, the expression compiler, the planner, suppression) must
 * give exactly the table that hand-written DuckDB SQL gives over DuckDB's own read_csv of
 * the same file — the sample pipeline, and pipelines generated with fast-check. Both
 * sides run single-threaded so float sums are summed in the same order. Every cell must
 * match exactly, except that two floats may differ in the last bits (relative 1e-12):
 * DuckDB sums a vector it can prove constant (a clamp whose bounds lie outside the data,
 * written as CASE by the reference) as value × count, and a flat one by addition.
 */
import { DuckDBDateValue, type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PipelineDocument, parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { COST_BY_REGION, sampleVisits, VISITS_PATH } from './fixtures.ts';

let instance: DuckDBInstance;
let ref: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  ref = await instance.connect();
  await ref.run(`CREATE TABLE visits AS SELECT * FROM read_csv('${VISITS_PATH}')`);
});
afterAll(() => {
  ref.closeSync();
  instance.closeSync();
});

/** A DuckDB value as JSON-able data, converted independently of src/pipelines/results.ts. */
function plain(v: DuckDBValue): unknown {
  if (typeof v === 'bigint') {
    expect(Number.isSafeInteger(Number(v))).toBe(true);
    return Number(v);
  }
  if (v instanceof DuckDBDateValue) return v.toString();
  return v;
}

interface Reference {
  where?: string;
  groupBy: string[];
  measures: [string, string][];
  minGroupSize: number;
}

/** The expected output, computed by hand-written SQL. */
async function expected(r: Reference): Promise<{ rows: unknown[][]; suppressedGroups: number }> {
  const groups = r.groupBy.join(', ');
  const select = [...r.groupBy, ...r.measures.map(([name, sql]) => `${sql} AS ${name}`), 'count(*) AS n__'].join(', ');
  const cte = `WITH f AS (SELECT * FROM visits${r.where ? ` WHERE ${r.where}` : ''}),
    g AS (SELECT ${select} FROM f${groups ? ` GROUP BY ${groups}` : ''})`;
  const order = r.groupBy.length ? ` ORDER BY ${r.groupBy.map((g) => `${g} ASC NULLS FIRST`).join(', ')}` : '';
  const cols = [...r.groupBy, ...r.measures.map(([name]) => name)].join(', ');
  const rows = (await ref.runAndReadAll(`${cte} SELECT ${cols} FROM g WHERE n__ >= ${r.minGroupSize}${order}`)).getRows();
  const hidden = (await ref.runAndReadAll(`${cte} SELECT count(*) FROM g WHERE n__ < ${r.minGroupSize}`)).getRows();
  return { rows: rows.map((row) => row.map(plain)), suppressedGroups: Number(hidden[0]?.[0]) };
}

/** Assert two result tables are equal, floats to 1e-12 relative (see the header). */
function expectSameTable(got: { rows: unknown[][]; suppressedGroups: number; types: string[] }, want: { rows: unknown[][]; suppressedGroups: number }): void {
  expect(got.suppressedGroups).toBe(want.suppressedGroups);
  expect(got.rows.length).toBe(want.rows.length);
  got.rows.forEach((row, r) => {
    const other = want.rows[r] as unknown[];
    expect(row.length).toBe(other.length);
    row.forEach((cell, c) => {
      const w = other[c];
      if (got.types[c] === 'float64' && typeof cell === 'number' && typeof w === 'number' && !Object.is(cell, w)) {
        expect(Math.abs(cell - w), `row ${r} column ${c}`).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(cell), Math.abs(w)));
      } else {
        expect(cell, `row ${r} column ${c}`).toEqual(w);
      }
    });
  });
}

async function actual(doc: PipelineDocument, step: string) {
  const out = await runPipeline(doc, { visits: await sampleVisits() });
  const o = out[step];
  if (!o) throw new Error('missing output');
  return { rows: o.rows, suppressedGroups: o.suppressedGroups, types: o.columns.map((c) => c.type) };
}

const COLUMNS = { patient_id: 'string', region: 'string', age: 'int64', cost: 'float64', readmitted: 'bool', visit_date: 'date' };

function document(where: string | undefined, groupBy: string[], measures: Record<string, unknown>, minGroupSize: number): PipelineDocument {
  const steps: unknown[] = [];
  if (where) steps.push({ id: 'kept', filter: { from: 'visits', where } });
  steps.push({ id: 'out', aggregate: { from: where ? 'kept' : 'visits', group_by: groupBy, measures } });
  return parsePipeline(JSON.stringify({ obscura: 1, name: 'differential', inputs: { visits: { columns: COLUMNS } }, steps, outputs: { out: { min_group_size: minGroupSize } } }));
}

/** A predicate written twice: in the pipeline language and in DuckDB SQL. */
interface Pred {
  expr: string;
  sql: string;
}

const op = fc.constantFrom('=', '<>', '<', '<=', '>', '>=');
const region = fc.constantFrom('north', 'south', 'east', 'west', 'central', 'islands', 'nowhere');
const cents = fc.integer({ min: 0, max: 500_000 }).map((c) => (c / 100).toFixed(2));
const day = fc.integer({ min: 0, max: 760 }).map((d) => new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));

const leaf: fc.Arbitrary<Pred> = fc.oneof(
  fc.tuple(op, fc.integer({ min: 0, max: 100 })).map(([o, n]) => ({ expr: `age ${o} ${n}`, sql: `age ${o} ${n}` })),
  fc.tuple(op, cents).map(([o, x]) => ({ expr: `cost ${o} ${x}`, sql: `cost ${o} ${x}::DOUBLE` })),
  region.map((r) => ({ expr: `region = '${r}'`, sql: `region = '${r}'` })),
  fc.uniqueArray(region, { minLength: 1, maxLength: 3 }).chain((rs) =>
    fc.boolean().map((neg) => ({
      expr: `region ${neg ? 'NOT IN' : 'IN'} (${rs.map((r) => `'${r}'`).join(', ')})`,
      sql: `region ${neg ? 'NOT IN' : 'IN'} (${rs.map((r) => `'${r}'`).join(', ')})`,
    })),
  ),
  fc.constantFrom<Pred>({ expr: 'readmitted', sql: 'readmitted' }, { expr: 'readmitted = false', sql: 'readmitted = false' }),
  fc.tuple(op, day).map(([o, d]) => ({ expr: `visit_date ${o} '${d}'`, sql: `visit_date ${o} DATE '${d}'` })),
  fc.boolean().map((neg) => ({ expr: `cost IS ${neg ? 'NOT ' : ''}NULL`, sql: `cost IS ${neg ? 'NOT ' : ''}NULL` })),
  fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 })).map(([a, b]) => ({
    expr: `age BETWEEN ${a} AND ${a + b}`,
    sql: `age BETWEEN ${a} AND ${a + b}`,
  })),
  fc.integer({ min: 1, max: 5 }).map((k) => ({ expr: `age * ${k} + 1 > cost / 100`, sql: `age * ${k} + 1 > cost / 100` })),
  fc.integer({ min: 0, max: 40 }).map((k) => ({ expr: `abs(age - 50) < ${k}`, sql: `abs(age - 50) < ${k}` })),
  fc.constantFrom(2024, 2025).map((y) => ({ expr: `year(visit_date) = ${y} AND month(visit_date) <= 6`, sql: `year(visit_date) = ${y} AND month(visit_date) <= 6` })),
  cents.map((x) => ({ expr: `round(cost, 0) >= ${x}`, sql: `round(cost, 0) >= ${x}::DOUBLE` })),
  region.map((r) => ({
    expr: `CASE WHEN age < 18 THEN 'minor' ELSE lower(region) END = '${r}'`,
    sql: `CASE WHEN age < 18 THEN 'minor' ELSE lower(region) END = '${r}'`,
  })),
  fc.integer({ min: 0, max: 5000 }).map((x) => ({ expr: `coalesce(cost, 0) < ${x}`, sql: `coalesce(cost, 0) < ${x}` })),
);

const pred: fc.Arbitrary<Pred> = fc.letrec<{ p: Pred }>((tie) => ({
  p: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('p'), fc.constantFrom('AND', 'OR'), tie('p')).map(([a, o, b]) => ({ expr: `(${a.expr}) ${o} (${b.expr})`, sql: `(${a.sql}) ${o} (${b.sql})` })),
    tie('p').map((a) => ({ expr: `NOT (${a.expr})`, sql: `NOT (${a.sql})` })),
  ),
})).p;

interface GenMeasure {
  doc: Record<string, unknown>;
  sql: string;
}

const clamp = (col: string, lo: string, hi: string) => `CASE WHEN ${col} < ${lo} THEN ${lo} WHEN ${col} > ${hi} THEN ${hi} ELSE ${col} END`;
const bound = fc.oneof(fc.integer({ min: -10, max: 3000 }).map((n) => [n, String(n)] as const), cents.map((x) => [Number(x), `${x}::DOUBLE`] as const));
const bounds = fc.tuple(bound, bound).map(([a, b]) => (a[0] <= b[0] ? [a, b] : [b, a]));

const measure: fc.Arbitrary<GenMeasure> = fc.oneof(
  fc.constant({ doc: { count: '*' }, sql: 'count(*)' }),
  fc.constant({ doc: { count: 'cost' }, sql: 'count(cost)' }),
  fc.tuple(fc.constantFrom('sum', 'mean', 'min', 'max'), fc.constantFrom('age', 'cost'), fc.option(bounds, { nil: undefined })).map(([kind, col, b]) => {
    const fn = kind === 'mean' ? 'avg' : kind;
    const value = b ? clamp(col, b[0][1], b[1][1]) : col;
    const doc: Record<string, unknown> = { [kind]: col };
    if (b) doc.bounds = [b[0][0], b[1][0]];
    return { doc, sql: `${fn}(${value})` };
  }),
  fc.constant({ doc: { mean: 'readmitted' }, sql: 'avg(readmitted::INTEGER)' }),
  fc.constant({ doc: { sum: 'readmitted' }, sql: 'sum(readmitted::INTEGER)' }),
  fc.constantFrom('min', 'max').map((k) => ({ doc: { [k]: 'visit_date' }, sql: `${k}(visit_date)` })),
);

describe('pipelines agree with hand-written DuckDB SQL', () => {
  it('on the sample pipeline', async () => {
    const doc = parsePipeline(COST_BY_REGION);
    const want = await expected({
      where: 'age >= 18',
      groupBy: ['region'],
      measures: [
        ['patients', 'count(*)'],
        ['total_cost', 'sum(cost)'],
        ['mean_cost', 'avg(cost)'],
        ['max_cost', 'max(cost)'],
      ],
      minGroupSize: 10,
    });
    expect(want.suppressedGroups).toBe(1);
    const got = await actual(doc, 'by_region');
    expect({ rows: got.rows, suppressedGroups: got.suppressedGroups }).toEqual(want); // bit for bit
  });

  it('on generated filter + aggregate pipelines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(pred, { nil: undefined, freq: 5 }),
        fc.subarray(['region', 'readmitted', 'age', 'visit_date'], { maxLength: 2 }),
        fc.array(measure, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 40 }),
        async (where, groupBy, measures, minGroupSize) => {
          const named = measures.map((m, i) => [`m${i}`, m] as const);
          const doc = document(where?.expr, groupBy, Object.fromEntries(named.map(([n, m]) => [n, m.doc])), minGroupSize);
          const want = await expected({ where: where?.sql, groupBy, measures: named.map(([n, m]) => [n, m.sql]), minGroupSize });
          expectSameTable(await actual(doc, 'out'), want);
        },
      ),
      { numRuns: Number(process.env.DIFF_RUNS ?? 50) },
    );
  });
});
