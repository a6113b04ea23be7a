/**
 * The one-pass CSV parser against a known schema (csv-typed.ts) is only a fast path: on
 * every input it returns exactly what the general parser returns, or gives up (undefined)
 * and leaves the input — and every error — to it. Property tests over CSVs built from
 * awkward values (quotes, escapes, CRLF, blank lines, a BOM, long and signed numbers,
 * exponents, nulls) and over malformed ones.
 */
import type { Table } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeVisits } from '../../datasets/make-visits.ts';
import { parseCsv, parseCsvGeneral } from '../../src/data/csv.ts';
import { parseCsvTyped } from '../../src/data/csv-typed.ts';
import type { ColumnType, DatasetSchema } from '../../src/data/index.ts';
import { utf8 } from './helpers.ts';

/** Every cell of `table` as plain values, -0 told apart from 0. */
function cells(table: Table): unknown[][] {
  const out: unknown[][] = [];
  for (let c = 0; c < table.numCols; c++) {
    const vec = table.getChildAt(c);
    const values: unknown[] = [];
    for (let r = 0; r < table.numRows; r++) {
      const v = vec?.get(r) ?? null;
      values.push(typeof v === 'number' && Object.is(v, -0) ? '-0' : v);
    }
    out.push(values);
  }
  return out;
}

/** The general parser's outcome: its cells, or its error's code and message. */
function general(bytes: Uint8Array, schema: DatasetSchema): { cells: unknown[][] } | { error: string } {
  try {
    return { cells: cells(parseCsvGeneral(bytes, schema).table) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Assert the fast path agrees with the general one on `text`; returns whether it took the input. */
function agrees(text: string, schema: DatasetSchema): boolean {
  const bytes = utf8(text);
  const expected = general(bytes, schema);
  const fast = parseCsvTyped(bytes, schema);
  if ('error' in expected) {
    expect(fast).toBeUndefined();
    return false;
  }
  if (!fast) return false;
  expect(fast.schema).toEqual(schema);
  expect(fast.rows).toBe(expected.cells[0]?.length ?? 0);
  expect(cells(fast.table)).toEqual(expected.cells);
  return true;
}

const VALUES: Record<ColumnType, fc.Arbitrary<string>> = {
  string: fc.oneof(
    fc.constantFrom('', 'a', 'north', 'x y', 'ünï', '"q"', '"a,b"', '"say ""hi"""', '"line\nbreak"', '""'),
    fc.string({ maxLength: 40 }).filter((s) => !/[",\r\n]/.test(s)),
  ),
  int64: fc.oneof(
    fc.integer().map(String),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
    fc.constantFrom('', '007', '+4', '-0', '9223372036854775808', '1.0', '"12"', 'x', '123456789012345', '-'),
  ),
  int32: fc.oneof(fc.integer().map(String), fc.constantFrom('', '2147483648', '-2147483648', '"5"')),
  float64: fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.integer({ min: -1e6, max: 1e6 }).map((n) => (n / 100).toFixed(2)),
    fc.constantFrom(
      '',
      '0.05',
      '-0.0',
      '5.',
      '.5',
      '1e3',
      '1.5E-7',
      '123456789012.3456',
      '0000000000000001.5',
      'NaN',
      'Infinity',
      '"2.5"',
      '1,5',
    ),
  ),
  bool: fc.constantFrom('true', 'false', 'TRUE', 'fAlSe', '', 'yes', '1', '"true"', 'fals', 'truex', 'tru'),
  date: fc.oneof(
    fc.constantFrom('2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '', '2024-1-1', '"2025-03-23"'),
    fc
      .tuple(
        fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1899, 1900, 2155, 2156)),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
      )
      .map(
        ([y, m, d]) =>
          `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
      ),
  ),
  timestamp: fc.constantFrom(
    '2024-01-02T03:04:05.123456Z',
    '2024-01-02 03:04',
    '2024-01-02T03:04:05+02:00',
    '1600-01-01T00:00:00',
    '',
    '2024-01-02',
  ),
};

const TYPES = Object.keys(VALUES) as ColumnType[];

/** A schema, rows of values for it, and the ways a CSV writer may vary. */
const csvCase = fc.array(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 5 }).chain((types) =>
  fc.record({
    types: fc.constant(types),
    rows: fc.array(fc.tuple(...types.map((t) => VALUES[t])), { maxLength: 12 }),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    bom: fc.boolean(),
    trailing: fc.boolean(),
    blank: fc.boolean(),
    quoteHeader: fc.boolean(),
  }),
);

describe('the one-pass CSV parser against a schema', () => {
  it('returns what the general parser returns, or leaves the input to it', () => {
    fc.assert(
      fc.property(csvCase, (k) => {
        const schema = k.types.map((type, i) => ({ name: `c${i}`, type }));
        const header = schema.map((c) => (k.quoteHeader ? `"${c.name}"` : c.name)).join(',');
        const lines = [header, ...k.rows.map((r) => r.join(','))];
        if (k.blank) lines.splice(Math.min(2, lines.length), 0, '');
        const text = (k.bom ? '\uFEFF' : '') + lines.join(k.eol) + (k.trailing ? k.eol : '');
        agrees(text, schema);
      }),
      { numRuns: 300 },
    );
  });

  it('takes the common well-formed file, quoted strings and CRLF included', () => {
    const visits = makeVisits({ rows: 500, seed: 3 });
    const schema: DatasetSchema = [
      { name: 'patient_id', type: 'string' },
      { name: 'region', type: 'string' },
      { name: 'age', type: 'int64' },
      { name: 'cost', type: 'float64' },
      { name: 'readmitted', type: 'bool' },
      { name: 'visit_date', type: 'date' },
    ];
    expect(agrees(visits, schema)).toBe(true);
    expect(agrees(visits.replaceAll('\n', '\r\n'), schema)).toBe(true);
    expect(agrees(visits.replaceAll('north', '"north, upper"'), schema)).toBe(true);
    expect(agrees(visits.replaceAll('south', '"the ""south"""'), schema)).toBe(true);
  });

  it('ends a string field at its first comma, quote or line end wherever it falls in a four-byte word', () => {
    const schema: DatasetSchema = [
      { name: 's', type: 'string' },
      { name: 'n', type: 'int64' },
    ];
    // Each length, with each byte that ends a field (or a UTF-8 byte of 0x80 or more, which
    // does not) at each place: the four-bytes-at-a-time copy must stop where the byte loop would.
    for (let len = 0; len <= 13; len++)
      for (let at = 0; at < len; at++)
        for (const b of [',', '"', '\n', '\r', 'é', '\u2028', '+', '-', '.', '\u0001', '\u007f']) {
          const field = 'abcdefghijklmnop'.slice(0, at) + b + 'abcdefghijklmnop'.slice(at + 1, len);
          agrees(`s,n\n${field},1\nxyzw${field},2\n${field}\n`, schema);
        }
    // Long fields (past the room kept ahead), back to back.
    const long = 'ü'.repeat(3000) + 'x'.repeat(5000);
    expect(agrees(`s,n\n${long},1\n${long}${long},2\na,3\n`, schema)).toBe(true);
  });

  it('converts every day at the edges of the years its date look-up covers, and refuses days that do not exist', () => {
    const lines = ['d'];
    for (const y of [1899, 1900, 1901, 1999, 2000, 2024, 2100, 2155, 2156])
      for (let m = 1; m <= 12; m++)
        for (let d = 1; new Date(Date.UTC(y, m - 1, d)).getUTCMonth() === m - 1; d++)
          lines.push(`${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
    const schema: DatasetSchema = [{ name: 'd', type: 'date' }];
    expect(agrees(lines.join('\n'), schema)).toBe(true);
    for (const bad of ['2023-02-29', '2100-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00'])
      expect(parseCsvTyped(utf8(`d\n${bad}\n`), schema), bad).toBeUndefined();
  });

  it('gives up on malformed files and on another header, leaving the error to the general parser', () => {
    const schema: DatasetSchema = [
      { name: 'a', type: 'int64' },
      { name: 'b', type: 'string' },
    ];
    for (const text of [
      'a,b\n1,x\n2\n',
      'a,b\n1,x,3\n',
      'a,b\n1,x"y\n',
      'a,b\n1,"x\n',
      'a,b\n1,"x"y\n',
      'a,b\nx,1\n',
      'b,a\n1,x\n',
      'a\n1\n',
      'a,b,c\n1,x,2\n',
      'a,b\r1,x\r2,y\r',
      '"a""",b\n1,x\n',
    ]) {
      expect(parseCsvTyped(utf8(text), schema), text).toBeUndefined();
    }
  });

  it("keeps the general parser's errors through parseCsv", () => {
    const schema: DatasetSchema = [
      { name: 'a', type: 'int64' },
      { name: 'b', type: 'string' },
    ];
    expect(() => parseCsv(utf8('a,b\n1,x\nnope,y\n'), schema)).toThrow(
      'CSV row 2, column "a": value is not a valid int64',
    );
    expect(() => parseCsv(utf8('a,b\n1,x\n2\n'), schema)).toThrow('CSV row 2');
  });
});
