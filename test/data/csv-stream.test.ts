/**
 * CsvInspector (what `obscura seal` records while it encrypts, block by block) must report
 * exactly what inspectCsv reports for the whole file, wherever the blocks are cut, and fail
 * with the same code where it fails.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectCsv } from '../../src/data/csv.ts';
import { CsvInspector } from '../../src/data/csv-stream.ts';
import { utf8 } from './helpers.ts';

const code = (e: unknown) => ({ code: (e as { code?: string }).code });

/** `{ schema, rows }` or the error code, streaming `bytes` cut at `cuts`. */
function streamed(bytes: Uint8Array, cuts: number[]): unknown {
  try {
    const inspector = new CsvInspector();
    let at = 0;
    for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
      inspector.push(bytes.subarray(at, cut));
      at = cut;
    }
    inspector.push(bytes.subarray(at));
    return inspector.end();
  } catch (e) {
    return code(e);
  }
}

function whole(bytes: Uint8Array): unknown {
  try {
    return inspectCsv(bytes);
  } catch (e) {
    return code(e);
  }
}

describe('CsvInspector', () => {
  it('reports the sample dataset as inspectCsv does, in blocks of any size', () => {
    const bytes = readFileSync(new URL('../../datasets/visits.csv', import.meta.url));
    for (const size of [7, 64, 4096, 65536]) {
      const cuts = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => i * size);
      expect(streamed(bytes, cuts)).toEqual(whole(bytes));
    }
  });

  it('agrees with inspectCsv on random typed and malformed CSV cut anywhere', () => {
    const cell = fc.constantFrom(
      '',
      '1',
      '-7',
      '1.5',
      '2e3',
      'true',
      '2024-02-29',
      '2024-01-02T03:04:05Z',
      'x',
      'é',
      '"q""x"',
      '"a,b"',
      'bad"quote',
      '"\n"',
      '"\r\n"',
      '"unclosed',
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('\n', '\r\n'),
        fc.constantFrom('', '\ufeff', '\n\n'),
        fc.array(fc.nat(), { maxLength: 6 }),
        (rows, width, eol, lead, cuts) => {
          const header = Array.from({ length: width }, (_, i) => `c${i}`).join(',');
          const text = `${lead}${[header, ...rows.map((r) => r.join(','))].join(eol)}${eol}`;
          const bytes = utf8(text);
          expect(streamed(bytes, cuts)).toEqual(whole(bytes));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses invalid UTF-8, bad names and an empty file like inspectCsv', () => {
    for (const bytes of [
      new Uint8Array([0x61, 0x0a, 0xff, 0x0a]),
      utf8('a,a\n1,2\n'),
      utf8('\n'),
      utf8(''),
    ]) {
      expect(streamed(bytes, [1, 2])).toEqual(whole(bytes));
      expect(whole(bytes)).toHaveProperty('code');
    }
  });
});
