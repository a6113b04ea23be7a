/**
 * fast-check generators for the differential test: predicates, derived columns and
 * aggregates over a set of typed columns, each written twice — in the pipeline language
 * (`expr`, document values) and as DuckDB SQL (`sql`) by hand, independently of the
 * compiler: SQL literals are typed explicitly (`12.5::DOUBLE`, `DATE '…'`), `dayofweek`
 * is DuckDB's `isodow`, clamping is the reference database's `clamp` macro and
 * histograms are counted bin by bin (reference.ts).
 */
import fc from 'fast-check';
import { edgesBin, equalWidthBin, histogramSql } from './reference.ts';

/** A column the generated steps may use. */
export interface Col {
  name: string;
  type: 'string' | 'int64' | 'float64' | 'bool' | 'date';
}

/** A piece written in both languages. */
export interface Gen {
  expr: string;
  sql: string;
}

const OPS = ['=', '<>', '<', '<=', '>', '>='] as const;
const op = fc.constantFrom(...OPS);
const small = fc.integer({ min: -10, max: 100 });
const cents = fc.integer({ min: -5000, max: 500_000 }).map((c) => (c / 100).toFixed(2));
const words = fc.constantFrom('north', 'south', 'East', 'west', 'x', 'y', 'p12', 'p30', 'none');
const day = fc
  .integer({ min: -5, max: 735 })
  .map((d) => new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));
const both = (expr: string, sql = expr): Gen => ({ expr, sql });
const isNumber = (c: Col) => c.type === 'int64' || c.type === 'float64';

/** Leaf predicates over one column. */
function leaf(c: Col): fc.Arbitrary<Gen> {
  const e = c.name;
  const q = `"${c.name}"`;
  const nulls = fc
    .boolean()
    .map((neg) => both(`${e} IS ${neg ? 'NOT ' : ''}NULL`, `${q} IS ${neg ? 'NOT ' : ''}NULL`));
  switch (c.type) {
    case 'int64':
    case 'float64':
      return fc.oneof(
        fc.tuple(op, small).map(([o, n]) => both(`${e} ${o} ${n}`, `${q} ${o} ${n}`)),
        fc.tuple(op, cents).map(([o, x]) => both(`${e} ${o} ${x}`, `${q} ${o} ${x}::DOUBLE`)),
        fc
          .tuple(small, fc.nat(60), fc.boolean())
          .map(([a, b, neg]) =>
            both(
              `${e} ${neg ? 'NOT ' : ''}BETWEEN ${a} AND ${a + b}`,
              `${q} ${neg ? 'NOT ' : ''}BETWEEN ${a} AND ${a + b}`,
            ),
          ),
        nulls,
        fc
          .tuple(fc.uniqueArray(small, { minLength: 1, maxLength: 3 }), fc.boolean())
          .map(([xs, neg]) =>
            both(
              `${e} ${neg ? 'NOT IN' : 'IN'} (${xs.join(', ')})`,
              `${q} ${neg ? 'NOT IN' : 'IN'} (${xs.join(', ')})`,
            ),
          ),
        small.map((n) => both(`abs(${e}) < ${n}`, `abs(${q}) < ${n}`)),
        cents.map((x) => both(`round(${e}, 1) >= ${x}`, `round(${q}, 1) >= ${x}::DOUBLE`)),
        small.map((n) => both(`coalesce(${e}, 0) <= ${n}`, `coalesce(${q}, 0) <= ${n}`)),
        fc.nat(9).map((n) => both(`ln(abs(${e}) + 1) > ${n}`, `ln(abs(${q}) + 1) > ${n}`)),
        fc
          .nat(100)
          .map((n) =>
            both(
              `sqrt(abs(${e})) < ${n} AND ceil(${e}) > -${n}`,
              `sqrt(abs(${q})) < ${n} AND ceil(${q}) > -${n}`,
            ),
          ),
        small.map((n) => both(`floor(${e} / 10) * 10 = ${n * 10}`, `floor(${q} / 10) * 10 = ${n * 10}`)),
        fc
          .integer({ min: 1, max: 99 })
          .map((p) => both(`exp(-abs(${e}) / 100) > 0.${p}`, `exp(-abs(${q}) / 100) > 0.${p}::DOUBLE`)),
        fc
          .tuple(fc.integer({ min: 2, max: 7 }), fc.nat(6))
          .map(([m, r]) => both(`${e} % ${m} = ${r} OR -${e} > ${r}`, `${q} % ${m} = ${r} OR -${q} > ${r}`)),
      );
    case 'string':
      return fc.oneof(
        words.map((w) => both(`${e} = '${w}'`, `${q} = '${w}'`)),
        fc
          .tuple(fc.uniqueArray(words, { minLength: 1, maxLength: 3 }), fc.boolean())
          .map(([ws, neg]) =>
            both(
              `lower(${e}) ${neg ? 'NOT IN' : 'IN'} (${ws.map((w) => `'${w}'`).join(', ')})`,
              `lower(${q}) ${neg ? 'NOT IN' : 'IN'} (${ws.map((w) => `'${w}'`).join(', ')})`,
            ),
          ),
        words.map((w) => both(`upper(${e}) <> '${w.toUpperCase()}'`, `upper(${q}) <> '${w.toUpperCase()}'`)),
        fc.nat(6).map((n) => both(`length(${e}) > ${n}`, `length(${q}) > ${n}`)),
        nulls,
        fc.constant(both(`coalesce(${e}, 'none') = 'none'`, `coalesce(${q}, 'none') = 'none'`)),
      );
    case 'bool':
      return fc.constantFrom(
        both(e, q),
        both(`NOT ${e}`, `NOT ${q}`),
        both(`${e} IS NOT NULL`, `${q} IS NOT NULL`),
        both(`${e} = TRUE`, `${q} = TRUE`),
        both(`${e} <> FALSE`, `${q} <> FALSE`),
      );
    case 'date':
      return fc.oneof(
        fc.tuple(op, day).map(([o, d]) => both(`${e} ${o} '${d}'`, `${q} ${o} DATE '${d}'`)),
        fc
          .tuple(day, day)
          .map(([a, b]) => (a <= b ? [a, b] : [b, a]))
          .map(([a, b]) =>
            both(`${e} BETWEEN '${a}' AND '${b}'`, `${q} BETWEEN DATE '${a}' AND DATE '${b}'`),
          ),
        fc
          .constantFrom(2024, 2025)
          .map((y) =>
            both(`year(${e}) = ${y} AND month(${e}) <= 6`, `year(${q}) = ${y} AND month(${q}) <= 6`),
          ),
        fc
          .integer({ min: 1, max: 4 })
          .map((n) =>
            both(
              `quarter(${e}) = ${n} OR week(${e}) < ${n * 10}`,
              `quarter(${q}) = ${n} OR week(${q}) < ${n * 10}`,
            ),
          ),
        fc.integer({ min: 1, max: 7 }).map((n) => both(`dayofweek(${e}) >= ${n}`, `isodow(${q}) >= ${n}`)),
        fc
          .integer({ min: 1, max: 366 })
          .map((n) =>
            both(`dayofyear(${e}) > ${n} AND day(${e}) < 20`, `dayofyear(${q}) > ${n} AND day(${q}) < 20`),
          ),
        nulls,
      );
  }
}

/** Predicates over `columns`: leaves combined with AND, OR, NOT and CASE WHEN. */
export function predArb(columns: readonly Col[]): fc.Arbitrary<Gen> {
  const leaves = fc.constantFrom(...columns).chain(leaf);
  return fc.letrec<{ p: Gen }>((tie) => ({
    p: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaves,
      fc
        .tuple(tie('p'), fc.constantFrom('AND', 'OR'), tie('p'))
        .map(([a, o, b]) => both(`(${a.expr}) ${o} (${b.expr})`, `(${a.sql}) ${o} (${b.sql})`)),
      tie('p').map((a) => both(`NOT (${a.expr})`, `NOT (${a.sql})`)),
      fc
        .tuple(tie('p'), tie('p'), tie('p'))
        .map(([a, b, c]) =>
          both(
            `CASE WHEN ${a.expr} THEN ${b.expr} ELSE ${c.expr} END`,
            `CASE WHEN ${a.sql} THEN ${b.sql} ELSE ${c.sql} END`,
          ),
        ),
    ),
  })).p;
}

/** A derived column: its expression in both languages and its type. */
export type Derived = Gen & Col;

function derivedFrom(c: Col, columns: readonly Col[]): fc.Arbitrary<Omit<Derived, 'name'>> {
  const e = c.name;
  const q = `"${c.name}"`;
  const num: Col['type'] = c.type === 'int64' ? 'int64' : 'float64';
  const d = (expr: string, sql: string, type: Col['type']): Omit<Derived, 'name'> => ({ expr, sql, type });
  switch (c.type) {
    case 'int64':
    case 'float64':
      return fc.oneof(
        fc.constant(d(`${e} * 2 + 1`, `${q} * 2 + 1`, num)),
        fc.constant(d(`floor(${e} / 10) * 10`, `floor(${q} / 10) * 10`, 'float64')),
        fc.constant(d(`round(${e} / 3, 2)`, `round(${q} / 3, 2)`, 'float64')),
        fc.constant(d(`coalesce(${e}, -1)`, `coalesce(${q}, -1)`, num)),
        fc.constant(d(`abs(${e})`, `abs(${q})`, num)),
        fc.constant(d(`sqrt(abs(${e}))`, `sqrt(abs(${q}))`, 'float64')),
        small.map((n) =>
          d(`CASE WHEN ${e} > ${n} THEN ${e} ELSE 0 END`, `CASE WHEN ${q} > ${n} THEN ${q} ELSE 0 END`, num),
        ),
      );
    case 'string':
      return fc.oneof(
        fc.constant(d(`lower(${e})`, `lower(${q})`, 'string')),
        fc.constant(d(`upper(coalesce(${e}, 'na'))`, `upper(coalesce(${q}, 'na'))`, 'string')),
        fc.constant(d(`length(${e})`, `length(${q})`, 'int64')),
        fc.tuple(predArb(columns), predArb(columns)).map(([a, b]) => ({
          ...both(
            `CASE WHEN ${a.expr} THEN 'yes' WHEN ${b.expr} THEN 'maybe' ELSE 'no' END`,
            `CASE WHEN ${a.sql} THEN 'yes' WHEN ${b.sql} THEN 'maybe' ELSE 'no' END`,
          ),
          type: 'string' as const,
        })),
      );
    case 'bool':
      return predArb(columns).map((p) => ({ ...p, type: 'bool' as const }));
    case 'date':
      return fc.constantFrom(
        d(`year(${e})`, `year(${q})`, 'int64'),
        d(`month(${e})`, `month(${q})`, 'int64'),
        d(`dayofweek(${e})`, `isodow(${q})`, 'int64'),
        d(`quarter(${e}) * 100 + week(${e})`, `quarter(${q}) * 100 + week(${q})`, 'int64'),
      );
  }
}

/** One or two derived columns, named d0 and d1. */
export function deriveArb(columns: readonly Col[]): fc.Arbitrary<Derived[]> {
  return fc
    .array(
      fc.constantFrom(...columns).chain((c) => derivedFrom(c, columns)),
      { minLength: 1, maxLength: 2 },
    )
    .map((ds) => ds.map((d, i) => ({ ...d, name: `d${i}` })));
}

const bound = fc.oneof(
  small.map((n) => [n, String(n)] as const),
  cents.map((x) => [Number(x), `${x}::DOUBLE`] as const),
);
const bounds = fc.tuple(bound, bound).map(([a, b]): [typeof a, typeof a] => (a[0] <= b[0] ? [a, b] : [b, a]));

/** One measure over `columns`: the document's measure object and the SQL aggregate. */
function measureArb(columns: readonly Col[]): fc.Arbitrary<{ doc: Record<string, unknown>; sql: string }> {
  const numeric = columns.filter((c) => isNumber(c) || c.type === 'bool');
  const ordered = columns.filter((c) => c.type !== 'string');
  const value = (c: Col) => (c.type === 'bool' ? `CAST("${c.name}" AS INTEGER)` : `"${c.name}"`);
  const options: fc.Arbitrary<{ doc: Record<string, unknown>; sql: string }>[] = [
    fc.constant({ doc: { count: '*' }, sql: 'count(*)' }),
    fc.constantFrom(...columns).map((c) => ({ doc: { count: c.name }, sql: `count("${c.name}")` })),
    fc
      .constantFrom(...columns)
      .map((c) => ({ doc: { count_distinct: c.name }, sql: `count(DISTINCT "${c.name}")` })),
  ];
  if (numeric.length) {
    const fns = {
      sum: 'sum',
      mean: 'avg',
      stddev: 'stddev_samp',
      variance: 'var_samp',
      quantile: 'quantile_cont',
    } as const;
    options.push(
      fc
        .tuple(
          fc.constantFrom(...(Object.keys(fns) as (keyof typeof fns)[])),
          fc.constantFrom(...numeric),
          fc.option(bounds, { nil: undefined }),
          fc.constantFrom(0, 0.25, 0.5, 0.9, 1),
        )
        .map(([kind, c, b, q]) => {
          const v = b ? `clamp(${value(c)}, ${b[0][1]}, ${b[1][1]})` : value(c);
          const doc: Record<string, unknown> = { [kind]: c.name };
          if (b) doc.bounds = [b[0][0], b[1][0]];
          if (kind === 'quantile') doc.q = q;
          return { doc, sql: `${fns[kind]}(${v}${kind === 'quantile' ? `, ${q}::DOUBLE` : ''})` };
        }),
      fc.tuple(fc.constantFrom(...numeric), bounds, fc.integer({ min: 1, max: 8 })).map(([c, b, n]) => {
        const lo = b[0][0];
        const hi = b[1][0] > lo ? b[1][0] : lo + 1;
        const hiSql = b[1][0] > lo ? b[1][1] : `${hi}::DOUBLE`;
        return {
          doc: { histogram: c.name, bins: n, bounds: [lo, hi] },
          sql: histogramSql(`clamp(${value(c)}, ${b[0][1]}, ${hiSql})`, n, equalWidthBin(lo, hi, n)),
        };
      }),
      fc
        .tuple(
          fc.constantFrom(...numeric),
          fc.uniqueArray(fc.integer({ min: -20, max: 400 }), { minLength: 2, maxLength: 6 }),
        )
        .map(([c, xs]) => {
          const edges = [...xs].sort((a, b) => a - b);
          const sql = histogramSql(
            `clamp(${value(c)}, ${edges[0]}::DOUBLE, ${edges[edges.length - 1]}::DOUBLE)`,
            edges.length - 1,
            edgesBin(edges),
          );
          return { doc: { histogram: c.name, bins: edges }, sql };
        }),
    );
  }
  if (ordered.length) {
    options.push(
      fc
        .tuple(
          fc.constantFrom('min', 'max'),
          fc.constantFrom(...ordered),
          fc.option(bounds, { nil: undefined }),
        )
        .map(([kind, c, b]) => {
          if (!b || c.type === 'date') return { doc: { [kind]: c.name }, sql: `${kind}("${c.name}")` };
          return {
            doc: { [kind]: c.name, bounds: [b[0][0], b[1][0]] },
            sql: `${kind}(clamp(${value(c)}, ${b[0][1]}, ${b[1][1]}))`,
          };
        }),
    );
  }
  return fc.oneof(...options);
}

/** An aggregate over `columns`: up to two group-by columns and one to five measures m0, m1, … */
export function aggregateArb(
  columns: readonly Col[],
): fc.Arbitrary<{ groupBy: string[]; doc: Record<string, unknown>; sql: string }> {
  return fc
    .tuple(
      fc.subarray(
        columns.map((c) => c.name),
        { maxLength: 2 },
      ),
      fc.array(measureArb(columns), { minLength: 1, maxLength: 5 }),
    )
    .map(([groupBy, ms]) => ({
      groupBy,
      doc: Object.fromEntries(ms.map((m, i) => [`m${i}`, m.doc])),
      sql: ms.map((m, i) => `${m.sql} AS m${i}`).join(', '),
    }));
}
