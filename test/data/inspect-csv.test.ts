/**
 * inspectCsv (what `obscura seal` records in the manifest) must report exactly the schema
 * and row count parseDataset infers in the enclave, and fail where it fails.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectCsv, parseDataset } from '../../src/data/index.ts';
import { utf8 } from './helpers.ts';

/** `{ schema, rows }` or the error code, from each side. */
async function both(bytes: Uint8Array): Promise<[unknown, unknown]> {
  const code = (e: unknown) => ({ code: (e as { code?: string }).code });
  let full: unknown;
  try {
    const d = await parseDataset(bytes, 'csv');
    full = { schema: d.schema, rows: d.rows };
  } catch (e) {
    full = code(e);
  }
  let quick: unknown;
  try {
    quick = inspectCsv(bytes);
  } catch (e) {
    quick = code(e);
  }
  return [quick, full];
}

describe('inspectCsv', () => {
  it('reports the sample dataset as parseDataset does', async () => {
    const [quick, full] = await both(readFileSync(new URL('../../datasets/visits.csv', import.meta.url)));
    expect(quick).toEqual(full);
    expect((quick as { rows: number }).rows).toBe(2000);
  });

  it('agrees with parseDataset on random typed and malformed CSV', async () => {
    const cell = fc.constantFrom(
      '',
      '1',
      '-7',
      '007',
      '9223372036854775808',
      '1.5',
      '2e3',
      'NaN',
      'true',
      'FALSE',
      '2024-02-29',
      '2024-02-30',
      '2024-01-02T03:04:05Z',
      '2024-01-02 03:04',
      'x',
      '"q""x"',
      '"a,b"',
      'bad"quote',
      '"\n"',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 3 }),
        async (rows, width) => {
          const header = Array.from({ length: width }, (_, i) => `c${i}`).join(',');
          const text = `${[header, ...rows.map((r) => r.join(','))].join('\n')}\n`;
          const [quick, full] = await both(utf8(text));
          expect(quick).toEqual(full);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects invalid UTF-8 and bad column names like parseDataset', async () => {
    for (const bytes of [new Uint8Array([0x61, 0x0a, 0xff, 0x0a]), utf8('a,a\n1,2\n'), utf8('\n')]) {
      const [quick, full] = await both(bytes);
      expect(quick).toEqual(full);
      expect(quick).toHaveProperty('code');
    }
  });
});
