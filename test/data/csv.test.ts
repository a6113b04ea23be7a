/**
 * CSV parsing: type inference, nulls, RFC 4180 quoting, the sample dataset, errors that
 * name row and column but never a value, and property tests against csv-parse (an
 * independent CSV parser) and Number.parseFloat.
 */
import { readFileSync } from 'node:fs';
import { parse as csvParse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MARKER_PATIENT_ID } from '../../datasets/make-visits.ts';
import { parseFloatBytes, parseIntBytes } from '../../src/data/csv-values.ts';
import { csvErrorWithoutRow } from '../../src/data/csv-scan.ts';
import { type DatasetSchema, parseDataset } from '../../src/data/index.ts';
import { caught, column, utf8 } from './helpers.ts';

/** A CSV with a quoted field holding escaped quotes, for the aliasing test. */
const QUOTED = 's,n\nhello,1\n"quoted ""x""",2\n';

const csv = (s: string, schema?: DatasetSchema) => parseDataset(utf8(s), 'csv', schema ? { schema } : {});

describe('CSV type inference', () => {
  it('infers every column type of the sample dataset', async () => {
    const d = await parseDataset(readFileSync(new URL('../../datasets/visits.csv', import.meta.url)), 'csv');
    expect(d.rows).toBe(2000);
    expect(d.schema).toEqual([
      { name: 'patient_id', type: 'string' },
      { name: 'region', type: 'string' },
      { name: 'age', type: 'int64' },
      { name: 'cost', type: 'float64' },
      { name: 'readmitted', type: 'bool' },
      { name: 'visit_date', type: 'date' },
    ]);
    expect(column(d.table, 'patient_id')[7]).toBe(MARKER_PATIENT_ID);
    expect(column(d.table, 'cost').filter((c) => c === null).length).toBeGreaterThan(10);
  });

  it('picks the narrowest type all values fit', async () => {
    const d = await csv(
      [
        'b,i,f,d,t,s,big,empty,mixed',
        'TRUE,007,1.5,2024-02-29,2024-01-02T03:04:05.123456Z,x,9223372036854775807,,1',
        'false,-3,2e3,1970-01-01,2024-01-02 03:04,y,-9223372036854775808,,2024-01-01',
        ',+4,-.5,,,,9,,true',
      ].join('\n'),
    );
    expect(d.schema.map((c) => c.type)).toEqual([
      'bool',
      'int64',
      'float64',
      'date',
      'timestamp',
      'string',
      'int64',
      'string',
      'string',
    ]);
    expect(column(d.table, 'b')).toEqual([true, false, null]);
    expect(column(d.table, 'i')).toEqual([7n, -3n, 4n]);
    expect(column(d.table, 'f')).toEqual([1.5, 2000, -0.5]);
    expect(column(d.table, 'd')).toEqual([Date.UTC(2024, 1, 29), 0, null]);
    const ts = d.table.getChild('t')?.data[0]?.values as BigInt64Array;
    expect([ts[0], ts[1]]).toEqual([
      BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 123456n,
      BigInt(Date.UTC(2024, 0, 2, 3, 4)) * 1000n,
    ]);
    expect(column(d.table, 'big')).toEqual([9223372036854775807n, -9223372036854775808n, 9n]);
    expect(column(d.table, 'empty')).toEqual([null, null, null]);
  });

  it('falls back to float64 beyond int64 and to string for non-numbers and invalid dates', async () => {
    const d = await csv('a,b,c,d\n9223372036854775808,NaN,2024-02-30,1e400\n1,1,2024-01-01,1\n');
    expect(d.schema.map((c) => c.type)).toEqual(['float64', 'string', 'string', 'string']);
  });

  it('reads a column of dates then timestamps as string, not as a timestamp it cannot build', async () => {
    const d = await csv('t\n2024-02-29\n2024-01-02 03:04\n');
    expect(d.schema).toEqual([{ name: 't', type: 'string' }]);
    expect(column(d.table, 't')).toEqual(['2024-02-29', '2024-01-02 03:04']);
  });

  it('reads timestamps with zones as UTC', async () => {
    const d = await csv('t\n2024-01-01T12:00:00+02:00\n2024-01-01T10:00:00Z\n');
    const ts = d.table.getChild('t')?.data[0]?.values as BigInt64Array;
    expect(ts[0]).toBe(ts[1]);
  });
});

describe('CSV syntax', () => {
  it('handles quotes, escaped quotes, embedded newlines, CRLF, a BOM and blank lines', async () => {
    const text = '\ufeffname,note\r\n"Smith, J","said ""hi"""\r\n\r\nplain,"two\nlines"\r\n"",x';
    const d = await csv(text);
    expect(d.schema.map((c) => c.name)).toEqual(['name', 'note']);
    expect(column(d.table, 'name')).toEqual(['Smith, J', 'plain', null]);
    expect(column(d.table, 'note')).toEqual(['said "hi"', 'two\nlines', 'x']);
  });

  it('keeps any Unicode text intact', async () => {
    const d = await csv('s\nnaïve\n日本語\n🙂 emoji\n"a ""b"" ü"\n');
    expect(column(d.table, 's')).toEqual(['naïve', '日本語', '🙂 emoji', 'a "b" ü']);
  });

  it('never aliases the input bytes', async () => {
    const bytes = Buffer.from(QUOTED);
    const d = await parseDataset(bytes, 'csv');
    bytes.fill(0);
    expect(column(d.table, 's')).toEqual(['hello', 'quoted "x"']);
  });

  it('reads a header-only file as zero rows of strings', async () => {
    const d = await csv('a,b\n');
    expect(d.rows).toBe(0);
    expect(d.schema).toEqual([
      { name: 'a', type: 'string' },
      { name: 'b', type: 'string' },
    ]);
  });
});

describe('CSV errors name row and column, never the value', () => {
  const secret = 'SECRET-VALUE-42';
  const cases: [string, string, Record<string, unknown>][] = [
    [`a,b,c\n1,2,3\n4,${secret}\n`, 'row 2', { row: 2, column: 'c' }],
    [`a,b\n1,2\n3,4,${secret}\n`, 'row 2', { row: 2 }],
    [`a,b\n1,"${secret}\n`, 'not closed', { row: 1, column: 'b' }],
    [`a,b\n1,x"${secret}\n`, 'quote inside', { row: 1, column: 'b' }],
    [`a,b\n1,"${secret}"x\n`, 'after a closing quote', { row: 1, column: 'b' }],
  ];
  for (const [text, fragment, details] of cases) {
    it(`refuses ${JSON.stringify(text.slice(0, 30))}`, async () => {
      const e = await caught(() => csv(text), 'dataset_invalid');
      expect(e.status).toBe(422);
      expect(e.message).toContain(fragment);
      expect(e.details).toMatchObject(details);
      expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain(secret);
    });
  }

  it('refuses empty input, bad and repeated column names and invalid UTF-8', async () => {
    await caught(() => csv(''), 'dataset_invalid');
    await caught(() => csv('\n\n'), 'dataset_invalid');
    expect((await caught(() => csv('a,,b\n1,2,3\n'), 'dataset_invalid')).message).toContain(
      'column 2 has an empty name',
    );
    expect((await caught(() => csv('Age,age\n1,2\n'), 'dataset_invalid')).message).toContain(
      'case-insensitive',
    );
    await caught(
      () => parseDataset(new Uint8Array([0x61, 0x0a, 0xc3, 0x28, 0x0a]), 'csv'),
      'dataset_invalid',
    );
  });

  it('parses values as an expected schema and names the row and column of a bad one', async () => {
    const schema: DatasetSchema = [
      { name: 'id', type: 'string' },
      { name: 'age', type: 'int32' },
      { name: 'cost', type: 'float64' },
    ];
    const d = await csv('id,age,cost\nx,5,7\n', schema);
    expect(d.schema).toEqual(schema);
    expect(column(d.table, 'age')).toEqual([5]);
    const e = await caught(
      () => csv(`id,age,cost\nx,5,7\ny,${MARKER_PATIENT_ID},1\n`, schema),
      'dataset_invalid',
    );
    expect(e.details).toEqual({ row: 2, column: 'age', problem: 'value is not a valid int32' });
    expect(e.message).toBe('CSV row 2, column "age": value is not a valid int32');
    // What the enclave tells the host keeps the column and the problem, not the row.
    expect(csvErrorWithoutRow(e).message).toBe('CSV, a row, column "age": value is not a valid int32');
    await caught(() => csv('id,age,cost\nx,3000000000,1\n', schema), 'dataset_invalid');
    await caught(() => csv('id,cost,age\nx,1,2\n', schema), 'dataset_invalid');
  });
});

describe('CSV properties', () => {
  const cell = fc.oneof(
    fc.string({
      unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', '🙂', '1', '.'),
      maxLength: 8,
    }),
    fc.string({ unit: 'grapheme', maxLength: 6 }),
  );
  const quote = (s: string) => (/[",\r\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s);

  it('reads what csv-parse reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }),
        fc.array(fc.array(cell, { minLength: 4, maxLength: 4 }), { maxLength: 12 }),
        async (width, rows) => {
          const header = Array.from({ length: width }, (_, i) => `c${i}`);
          const body = rows.map((r) => r.slice(0, width).map(quote).join(','));
          const text = `${[header.join(','), ...body].join('\n')}\n`;
          const schema = header.map((name) => ({ name, type: 'string' as const }));
          const ours = await csv(text, schema);
          const theirs = (csvParse(text, { bom: true }) as string[][]).slice(1);
          expect(ours.rows).toBe(theirs.length);
          header.forEach((name, c) => {
            expect(column(ours.table, name)).toEqual(theirs.map((r) => (r[c] === '' ? null : r[c])));
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads decimal numbers exactly as Number.parseFloat does', () => {
    const asBytes = (s: string) => utf8(s);
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        for (const s of [String(x), x.toFixed(2), x.toExponential(), x.toPrecision(17)]) {
          if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) continue;
          const b = asBytes(s);
          expect(Object.is(parseFloatBytes(b, 0, b.length), Number.parseFloat(s))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^-?\d{1,20}(\.\d{0,20})?$/), (s) => {
        const b = asBytes(s);
        expect(Object.is(parseFloatBytes(b, 0, b.length), Number.parseFloat(s))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads int64 integers exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const b = utf8(v.toString());
        const got = parseIntBytes(b, 0, b.length);
        expect(BigInt(got as number | bigint)).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });
});
