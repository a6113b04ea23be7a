/**
 * The reference side of the differential tests: a plain DuckDB (not the enclave's
 * locked-down one) reading the plaintext CSV files with its own `read_csv`, each table
 * given a `rid` row number, and hand-written SQL over them. Expected outputs are computed
 * here independently of src/pipelines: suppression counts distinct `rid`s per input
 * (columns `n_<input>` of the reference query), rows are ordered by the group keys, and
 * values are converted to JSON-able data by this file's own code.
 *
 * Float cells are compared exactly unless a tolerance is given. Where one is needed it is
 * because both sides add the same numbers in a different order (a join's output order
 * depends on which side DuckDB builds its hash table from, which depends on the tables'
 * sizes and so on the columns loaded); see the tests for the bound used and why.
 */
import {
  DuckDBDateValue,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { expect } from 'vitest';
import type { PipelineOutput } from '../../src/pipelines/index.ts';

/** A DuckDB value as JSON-able data, converted independently of src/pipelines/results.ts. */
export function plain(v: DuckDBValue): unknown {
  if (typeof v === 'bigint') {
    expect(Number.isSafeInteger(Number(v))).toBe(true);
    return Number(v);
  }
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v instanceof DuckDBDateValue) return v.toString();
  if (v instanceof DuckDBTimestampValue) {
    const micros = v.micros;
    const whole = new Date(Number(micros / 1_000_000n) * 1000).toISOString().slice(0, 19);
    const frac = Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n);
    return frac ? `${whole}.${String(frac).padStart(6, '0')}` : whole;
  }
  return v;
}

/** An expected output table. */
export interface Expected {
  rows: unknown[][];
  suppressedGroups: number;
}

/** A plain DuckDB holding the plaintext tables, single-threaded like the enclave's. */
export class Reference {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  /** Open a reference database with the `clamp(x, lo, hi)` macro (null stays null). */
  static async open(): Promise<Reference> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await instance.connect();
    await connection.run(
      'CREATE MACRO clamp(x, lo, hi) AS CASE WHEN x < lo THEN lo WHEN x > hi THEN hi ELSE x END',
    );
    return new Reference(instance, connection);
  }

  /** Table `name` from the CSV file at `path` (DuckDB's reader, given the column types), plus `rid`. */
  async load(name: string, path: string, columns: Record<string, string>): Promise<void> {
    const types = Object.entries(columns)
      .map(([c, t]) => `'${c}': '${t}'`)
      .join(', ');
    await this.connection.run(
      `CREATE OR REPLACE TABLE ${name} AS SELECT *, row_number() OVER () AS rid FROM read_csv('${path.replaceAll("'", "''")}', header = true, columns = {${types}})`,
    );
  }

  /** Rows of a query, converted by `plain`, on a connection of its own (so queries may run concurrently). */
  async rows(sql: string): Promise<unknown[][]> {
    const connection = await this.instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRows().map((r) => r.map(plain));
    } finally {
      connection.closeSync();
    }
  }

  /**
   * The expected output of a grouped query `sql` that selects the group keys, then the
   * measures, then `n_<input>` (distinct rids of that input) for each input in `counts`:
   * groups with any count below `k` are suppressed, the rest ordered by the keys. Histogram
   * cells (histogramSql) are shown when k <= 1 or at least k distinct rows of every input
   * (its row ids in column `rid(input)`) are behind them.
   */
  async expected(
    sql: string,
    keys: string[],
    counts: string[],
    k: number,
    rid: (input: string) => string = (i) => `rid_${i}`,
  ): Promise<Expected> {
    sql = sql.replace(
      /⟦([^⟧]*)⟧/g,
      (_, cond: string) =>
        `concat_ws(',', ${counts.map((c) => `count(DISTINCT ${rid(c)}) FILTER (WHERE ${cond})`).join(', ')})`,
    );
    const kept = counts.map((c) => `n_${c} >= ${k}`).join(' AND ');
    const order = keys.length ? ` ORDER BY ${keys.map((g) => `"${g}" ASC NULLS FIRST`).join(', ')}` : '';
    const exclude = counts.map((c) => `n_${c}`).join(', ');
    const rows = (
      await this.rows(`WITH g AS (${sql}) SELECT * EXCLUDE (${exclude}) FROM g WHERE ${kept}${order}`)
    ).map((r) =>
      r.map((v) =>
        typeof v === 'string' && v.startsWith('[{"n":')
          ? JSON.stringify(suppressedCells(JSON.parse(v), k))
          : v,
      ),
    );
    const hidden = await this.rows(`WITH g AS (${sql}) SELECT count(*) FROM g WHERE NOT (${kept})`);
    return { rows, suppressedGroups: Number(hidden[0]?.[0]) };
  }

  /** Close the database. */
  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * The documented cell suppression, written plainly: with k > 1, a cell with fewer than k
 * distinct rows of some input (`d`) is hidden; then, while the hidden cells hold between 1
 * and k − 1 rows of some input, the shown cell with the fewest rows (`n`; the first of
 * equals) is hidden too.
 */
function suppressedCells(cells: { n: number; d: number[] }[], k: number): (number | null)[] {
  if (k <= 1) return cells.map((c) => c.n);
  const hidden = cells.map((c) => c.d.some((x) => x < k));
  const inputs = cells[0]?.d.length ?? 0;
  const tooFew = () =>
    Array.from({ length: inputs }, (_, i) =>
      cells.reduce((s, c, j) => s + (hidden[j] ? (c.d[i] as number) : 0), 0),
    ).some((m) => m > 0 && m < k);
  while (tooFew()) {
    const shown = cells.map((c, j) => ({ n: c.n, j })).filter(({ j }) => !hidden[j]);
    if (shown.length === 0) break;
    shown.sort((a, b) => a.n - b.n || a.j - b.j);
    hidden[(shown[0] as { j: number }).j] = true;
  }
  return cells.map((c, j) => (hidden[j] ? null : c.n));
}

/**
 * A histogram written the long way: one filtered count per bin, joined into a JSON array
 * of cells `{"n": rows, "d": [distinct rows of each input]}` (Reference.expected fills in
 * the ⟦condition⟧'s distinct counts, then applies the suppression). `bin` is SQL computing
 * the bin index of `value`, which must be clamped already.
 */
export function histogramSql(value: string, bins: number, bin: (v: string) => string): string {
  const cells = Array.from({ length: bins }, (_, i) => {
    const cond = `${value} IS NOT NULL AND ${bin(value)} = ${i}`;
    return `'{"n":' || count(*) FILTER (WHERE ${cond}) || ',"d":[' || ⟦${cond}⟧ || ']}'`;
  });
  return `'[' || concat_ws(',', ${cells.join(', ')}) || ']'`;
}

/** Equal-width bin index of a clamped value over [lo, hi] in n bins (the documented formula). */
export function equalWidthBin(lo: number, hi: number, n: number): (v: string) => string {
  return (v) => `least(floor(((${v} - ${lo}::DOUBLE) / (${hi}::DOUBLE - ${lo}::DOUBLE)) * ${n}), ${n - 1})`;
}

/** Bin index of a value clamped into [edges[0], edges[n]], by a linear CASE over the inner edges. */
export function edgesBin(edges: number[]): (v: string) => string {
  if (edges.length === 2) return () => '0';
  return (v) =>
    `CASE ${edges
      .slice(1, -1)
      .map((e, i) => `WHEN ${v} < ${e}::DOUBLE THEN ${i}`)
      .join(' ')} ELSE ${edges.length - 2} END`;
}

/** Assert an output equals the expected table; float cells within `relTol` (relative) when given. */
export function expectSameTable(got: PipelineOutput, want: Expected, relTol = 0, what = ''): void {
  const types = got.columns.map((c) => c.type);
  expect(got.suppressedGroups, `${what} suppressed groups`).toBe(want.suppressedGroups);
  expect(got.rows.length, `${what} row count`).toBe(want.rows.length);
  got.rows.forEach((row, r) => {
    const other = want.rows[r] as unknown[];
    expect(row.length, `${what} row ${r} width`).toBe(other.length);
    row.forEach((cell, c) => {
      const w = other[c];
      if (
        relTol > 0 &&
        types[c] === 'float64' &&
        typeof cell === 'number' &&
        typeof w === 'number' &&
        !Object.is(cell, w)
      ) {
        expect(Math.abs(cell - w), `${what} row ${r} column ${got.columns[c]?.name}`).toBeLessThanOrEqual(
          relTol * Math.max(1, Math.abs(cell), Math.abs(w)),
        );
      } else {
        expect(cell, `${what} row ${r} column ${got.columns[c]?.name}`).toEqual(w);
      }
    });
  });
}
