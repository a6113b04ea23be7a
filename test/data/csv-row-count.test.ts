/**
 * CsvRowCounter (the row count `obscura seal` records beside a sampled schema) must count
 * exactly the rows inspectCsv counts for every well-formed CSV, wherever the blocks are cut
 * and wherever they sit in memory (the word loop's alignment): line ends LF, CRLF and lone
 * CR, blank lines anywhere, a final line without a line end, a BOM, quoted fields holding
 * line ends and quotes.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectCsv } from '../../src/data/csv.ts';
import { CsvRowCounter } from '../../src/data/csv-row-count.ts';
import { utf8 } from './helpers.ts';

/** Rows counted streaming `bytes` cut at `cuts`, each piece copied to `shift` bytes into a fresh buffer. */
function counted(bytes: Uint8Array, cuts: number[], shift = 0): number {
  const counter = new CsvRowCounter();
  let at = 0;
  const feed = (piece: Uint8Array): void => {
    const buf = new Uint8Array(piece.length + shift);
    buf.set(piece, shift);
    counter.push(buf.subarray(shift));
  };
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
    feed(bytes.subarray(at, cut));
    at = cut;
  }
  feed(bytes.subarray(at));
  return counter.rows;
}

/** inspectCsv's row count, or null when the CSV is malformed (then the counter promises nothing). */
function whole(bytes: Uint8Array): number | null {
  try {
    return inspectCsv(bytes).rows;
  } catch {
    return null;
  }
}

describe('CsvRowCounter', () => {
  it('counts the sample dataset as inspectCsv does, in blocks of any size', () => {
    const bytes = readFileSync(new URL('../../datasets/visits.csv', import.meta.url));
    for (const size of [3, 64, 4093, 65536]) {
      const cuts = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => i * size);
      expect(counted(bytes, cuts, size % 4)).toBe(inspectCsv(bytes).rows);
    }
  });

  it('agrees with inspectCsv on random well-formed CSV, cut and aligned anywhere', () => {
    const cell = fc.constantFrom(
      '',
      '1',
      '-7',
      '1.5',
      'x',
      'é',
      '"q""x"',
      '"a,b"',
      '"\n"',
      '"\r\n"',
      '"\r"',
      '""',
    );
    let checked = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 1, maxLength: 3 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom('\n', '\r\n', '\r', '\n\n', '\r\n\r\n', '\n\r'), {
          minLength: 13,
          maxLength: 13,
        }),
        fc.constantFrom('', '\ufeff', '\n\n', '\r\n', '\ufeff\n', '\ufeff\r\n\n'),
        fc.constantFrom('', '\n', '\r\n', '\r', '\n\n'),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 0, max: 3 }),
        (rows, width, eols, lead, tail, cuts, shift) => {
          const header = Array.from({ length: width }, (_, i) => `c${i}`).join(',');
          // Rows of the header's width, so most cases are well formed.
          const lines = [
            header,
            ...rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? '7').join(',')),
          ];
          const text = lead + lines.map((l, i) => (i < lines.length - 1 ? l + eols[i] : l)).join('') + tail;
          const bytes = utf8(text);
          const expected = whole(bytes);
          if (expected === null) return;
          checked++;
          expect(counted(bytes, cuts, shift)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
    expect(checked).toBeGreaterThan(1000);
  });

  it('counts long plain blocks word by word as byte by byte', () => {
    // Lines of random lengths over many words: the word loop's carry between words and blocks.
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom('\n', '\r\n', '\r')), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        (lines, cuts, shift) => {
          const text = `h\n${lines.map(([len, eol]) => 'x'.repeat(len) + eol).join('')}`;
          const bytes = utf8(text);
          expect(counted(bytes, cuts, shift)).toBe(inspectCsv(bytes).rows);
        },
      ),
      { numRuns: 500 },
    );
  });
});
