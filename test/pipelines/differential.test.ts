/**
 * Differential test on random data: pipelines generated with fast-check — an input or a
 * join of two (inner or left, on one or two keys, each side optionally filtered), then
 * optionally a filter and a derive, then an aggregate with any measures — run through
 * runPipeline (CSV bytes → our parser → Arrow → loader → compiled SQL → suppression) and,
 * written a second time by the generator as plain SQL, through DuckDB's own read_csv of
 * the same files. Datasets come from a seeded generator: a pool of visit-like and
 * lab-like tables of 1 to 400 rows sharing some patient ids, with nulls, duplicate keys
 * and negative numbers. min_group_size is 1 (privacy off) in most runs and 2–4 in the
 * others; the reference counts distinct row ids per input itself.
 *
 * Every cell must match exactly; floats are allowed 1e-9 relative (absolute below 1):
 * when a join is involved both sides add the same values but possibly in another order
 * (the join's output order depends on the build side DuckDB picks from table sizes,
 * and our side loads fewer columns). Single-input pipelines come out bit for bit.
 * DIFF_RUNS sets the number of generated pipelines (default 150, a new random seed each run,
 * so runs add up; SLOW=1 runs 3000).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../datasets/random.ts';
import { type ParsedDataset, parseDataset } from '../../src/data/index.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { aggregateArb, type Col, deriveArb, predArb } from './generate.ts';
import { expectSameTable, Reference } from './reference.ts';

const VISITS = {
  pid: 'string',
  region: 'string',
  age: 'int64',
  cost: 'float64',
  flag: 'bool',
  day: 'date',
} as const;
const LABS = { pid: 'string', val: 'float64', n: 'int64', day: 'date', kind: 'string' } as const;
const SQL_TYPES: Record<string, string> = {
  string: 'VARCHAR',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
  date: 'DATE',
};
const SIZES: [number, number][] = [
  [1, 1],
  [17, 30],
  [150, 200],
  [400, 300],
];

/** A random table as CSV text: `null` (empty) cells only in tables of more than 5 rows. */
function randomCsv(kind: 'visits' | 'labs', rows: number, seed: number): string {
  const rand = mulberry32(seed);
  const maybe = (p: number, v: () => string) => (rows > 5 && rand() < p ? '' : v());
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const day = () =>
    new Date(Date.UTC(2024, 0, 1) + Math.floor(rand() * 730) * 86_400_000).toISOString().slice(0, 10);
  const lines = [Object.keys(kind === 'visits' ? VISITS : LABS).join(',')];
  for (let i = 0; i < rows; i++) {
    if (kind === 'visits') {
      const pid = maybe(0.03, () => `p${String(Math.floor(rand() * 40)).padStart(2, '0')}`);
      const region = maybe(0.05, () => pick(['north', 'south', 'East', 'west']));
      const age = maybe(0.05, () => String(Math.floor(rand() * 100)));
      const cost = maybe(0.05, () => (rand() * 5050 - 50).toFixed(2));
      const flag = maybe(0.05, () => String(rand() < 0.3));
      lines.push([pid, region, age, cost, flag, maybe(0.03, day)].join(','));
    } else {
      const pid = maybe(0.03, () => `p${String(10 + Math.floor(rand() * 50)).padStart(2, '0')}`);
      const val = maybe(0.1, () => (rand() * 20).toFixed(1));
      lines.push(
        [pid, val, String(1 + Math.floor(rand() * 5)), maybe(0.03, day), pick(['x', 'y', 'z'])].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

let dir: string;
let ref: Reference;
const datasets: { visits: ParsedDataset; labs: ParsedDataset }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'obscura-diff-'));
  ref = await Reference.open();
  for (const [i, [a, b]] of SIZES.entries()) {
    const parsed: Record<string, ParsedDataset> = {};
    for (const [name, rows, columns] of [
      ['visits', a, VISITS],
      ['labs', b, LABS],
    ] as const) {
      const path = join(dir, `${name}_${i}.csv`);
      writeFileSync(path, randomCsv(name, rows, 1000 * i + rows));
      parsed[name] = await parseDataset(readFileSync(path), 'csv');
      expect(parsed[name]?.schema.map((c) => c.type)).toEqual(Object.values(columns));
      await ref.load(
        `${name}_${i}`,
        path,
        Object.fromEntries(Object.entries(columns).map(([c, t]) => [c, SQL_TYPES[t] as string])),
      );
    }
    datasets.push(parsed as { visits: ParsedDataset; labs: ParsedDataset });
  }
});
afterAll(() => {
  ref?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A generated pipeline: its document and the reference SQL for dataset `data`. */
interface Case {
  data: number;
  doc: Record<string, unknown>;
  /** Reference SQL over CTE `src` (the row-level relation, with rid_<input> columns). */
  src: (data: number) => string;
  inputs: string[];
  keys: string[];
  select: string;
  k: number;
}

const cols = (spec: Record<string, string>, rename: (c: string) => string = (c) => c): Col[] =>
  Object.entries(spec).map(([name, type]) => ({ name: rename(name), type: type as Col['type'] }));

/** The source relation: one input (optionally filtered), or a join of the two. */
const sourceArb: fc.Arbitrary<{
  steps: unknown[];
  from: string;
  columns: Col[];
  inputs: string[];
  src: (d: number) => string;
}> = fc.oneof(
  fc.tuple(fc.constantFrom('visits', 'labs'), fc.boolean()).chain(([input, filtered]) => {
    const columns = cols(input === 'visits' ? VISITS : LABS);
    return (filtered ? predArb(columns) : fc.constant(undefined)).map((p) => ({
      steps: p ? [{ id: 'pre', filter: { from: input, where: p.expr } }] : [],
      from: p ? 'pre' : input,
      columns,
      inputs: [input],
      src: (d: number) => `SELECT *, rid AS rid_${input} FROM ${input}_${d}${p ? ` WHERE ${p.sql}` : ''}`,
    }));
  }),
  fc
    .tuple(
      fc.constantFrom('inner', 'left'),
      fc.boolean(),
      fc.option(predArb(cols(VISITS)), { freq: 3 }),
      fc.option(predArb(cols(LABS)), { freq: 3 }),
    )
    .map(([how, twoKeys, lp, rp]) => {
      const left = lp ? 'fv' : 'visits';
      const right = rp ? 'fl' : 'labs';
      const keys = twoKeys ? ['pid', 'day'] : ['pid'];
      const steps: unknown[] = [];
      if (lp) steps.push({ id: 'fv', filter: { from: 'visits', where: lp.expr } });
      if (rp) steps.push({ id: 'fl', filter: { from: 'labs', where: rp.expr } });
      steps.push({ id: 'joined', join: { left, right, on: keys, how } });
      // The documented naming: keys once, then left's columns, then right's; clashes prefixed by relation name.
      const lname = (c: string) => (c === 'day' && !twoKeys ? `${left}_day` : c);
      const rname = (c: string) => (c === 'day' && !twoKeys ? `${right}_day` : c);
      const lcols = cols(VISITS, lname).filter((c) => !keys.includes(c.name));
      const rcols = cols(LABS, rname).filter((c) => !keys.includes(c.name));
      const columns = [...cols(VISITS).filter((c) => keys.includes(c.name)), ...lcols, ...rcols];
      const sel = [
        ...keys.map((k) => `l.${k} AS ${k}`),
        ...Object.keys(VISITS)
          .filter((c) => !keys.includes(c))
          .map((c) => `l.${c} AS "${lname(c)}"`),
        ...Object.keys(LABS)
          .filter((c) => !keys.includes(c))
          .map((c) => `r.${c} AS "${rname(c)}"`),
        'l.rid AS rid_visits',
        'r.rid AS rid_labs',
      ].join(', ');
      const src = (d: number) =>
        `SELECT ${sel} FROM (SELECT * FROM visits_${d}${lp ? ` WHERE ${lp.sql}` : ''}) l ${how === 'left' ? 'LEFT' : 'INNER'} JOIN ` +
        `(SELECT * FROM labs_${d}${rp ? ` WHERE ${rp.sql}` : ''}) r ON ${keys.map((k) => `l.${k} = r.${k}`).join(' AND ')}`;
      return { steps, from: 'joined', columns, inputs: ['visits', 'labs'], src };
    }),
);

const caseArb: fc.Arbitrary<Case> = sourceArb.chain((source) =>
  fc
    .tuple(fc.option(predArb(source.columns), { freq: 2 }), fc.option(deriveArb(source.columns), { freq: 2 }))
    .chain(([where, derived]) => {
      const columns: Col[] = [
        ...source.columns,
        ...(derived ?? []).map((d) => ({ name: d.name, type: d.type })),
      ];
      return fc
        .tuple(
          aggregateArb(columns),
          fc.nat(SIZES.length - 1),
          fc.oneof(
            { weight: 3, arbitrary: fc.constant(1) },
            { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) },
          ),
        )
        .map(([agg, data, k]): Case => {
          const steps = [...source.steps];
          let from = source.from;
          if (where) {
            steps.push({ id: 'kept', filter: { from, where: where.expr } });
            from = 'kept';
          }
          if (derived) {
            steps.push({
              id: 'derived',
              derive: { from, columns: Object.fromEntries(derived.map((d) => [d.name, d.expr])) },
            });
            from = 'derived';
          }
          steps.push({ id: 'out', aggregate: { from, group_by: agg.groupBy, measures: agg.doc } });
          const inputs = Object.fromEntries(
            source.inputs.map((n) => [n, { columns: n === 'visits' ? VISITS : LABS }]),
          );
          const src = (d: number) => {
            let sql = `SELECT * FROM (${source.src(d)})${where ? ` WHERE ${where.sql}` : ''}`;
            if (derived)
              sql = `SELECT *, ${derived.map((x) => `${x.sql} AS "${x.name}"`).join(', ')} FROM (${sql})`;
            return sql;
          };
          return {
            data,
            doc: { obscura: 1, name: 'generated', inputs, steps, outputs: { out: { min_group_size: k } } },
            src,
            inputs: source.inputs,
            keys: agg.groupBy,
            select: agg.sql,
            k,
          };
        });
    }),
);

async function check(c: Case): Promise<void> {
  const doc = parsePipeline(JSON.stringify(c.doc));
  const data = datasets[c.data] as { visits: ParsedDataset; labs: ParsedDataset };
  const counts = c.inputs.map((n) => `count(DISTINCT rid_${n}) AS n_${n}`).join(', ');
  const keys = c.keys.map((g) => `"${g}"`).join(', ');
  const sql = `SELECT ${[keys, c.select, counts].filter(Boolean).join(', ')} FROM (${c.src(c.data)}) s${keys ? ` GROUP BY ${keys}` : ''}`;
  // Both sides at once: they are separate DuckDB databases.
  const [outputs, want] = await Promise.all([
    runPipeline(doc, Object.fromEntries(c.inputs.map((n) => [n, data[n as 'visits' | 'labs']]))),
    ref.expected(sql, c.keys, c.inputs, c.k),
  ]);
  const out = outputs['out'];
  if (!out) throw new Error('missing output');
  expectSameTable(out, want, 1e-9);
}

const RUNS = Number(process.env.DIFF_RUNS ?? (process.env.SLOW ? 3000 : 150));
/** Pipelines checked at once (each in its own DuckDB): creating a database dominates a run, and overlaps well. */
const BATCH = 3;

describe('generated pipelines on random data agree with hand-written DuckDB SQL', () => {
  it(
    `through filters, joins, derives and every measure (${RUNS} pipelines)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(caseArb, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
          await Promise.all(cases.map(check));
        }),
        {
          numRuns: Math.ceil(RUNS / BATCH),
          seed: process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : undefined,
        },
      );
    },
    Math.max(60_000, RUNS * 500),
  );
});
