/**
 * The one-pass inspector (csv-inspect-rows.ts, behind CsvInspector) must report exactly what
 * the two-pass one it replaced reports: the same schema and row count, and for a malformed
 * file the same error (code, message, row and column), wherever the blocks are cut. Its
 * shortcuts (values judged by their byte classes) sit on edges a random CSV must cross:
 * 15 and 16 digits, one dot or two, the last day of each month, 29 February, signs, quotes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvInspector } from '../../src/data/csv-stream.ts';
import { ReferenceCsvInspector } from './csv-inspector-reference.ts';
import { utf8 } from './helpers.ts';

interface Inspector {
  push(block: Uint8Array): void;
  end(): unknown;
}

/** `{ schema, rows }`, or the error's code, message and details, feeding `bytes` cut at `cuts`. */
function outcome(inspector: Inspector, bytes: Uint8Array, cuts: number[]): unknown {
  try {
    let at = 0;
    for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
      inspector.push(bytes.subarray(at, cut));
      at = cut;
    }
    inspector.push(bytes.subarray(at));
    return inspector.end();
  } catch (e) {
    const { code, message, details } = e as { code?: string; message: string; details?: unknown };
    return { code, message, details };
  }
}

/**
 * Values of each kind that keep a column of that kind, and values that end it. A bad value
 * is drawn rarely, so that it is often the only one in its column: a shortcut that wrongly
 * accepted it would then change the column's type.
 */
const kinds: Record<string, { good: string[]; bad: string[] }> = {
  int: {
    good: ['0', '7', '42', '-3', '+5', '007', '123456789012345', '1234567890123456', '9223372036854775807'],
    bad: ['1e3', '1:2', '9/9', ' 7', '4-2', '1.', '9223372036854775808'],
  },
  float: {
    good: [
      '1.5',
      '3080.47',
      '.5',
      '5.',
      '-0.25',
      '+2.0',
      '12345678901234.5',
      '123456789012345.6',
      '1e-7',
      '42',
    ],
    bad: ['.', '1.2.3', '1-5', '2:5', '1.5/', '3.-', '-.', '1/5'],
  },
  bool: { good: ['true', 'false', 'TRUE', 'False'], bad: ['tru', 'falsey', 'fals', 'trux', '1'] },
  date: {
    good: ['2024-06-23', '2024-01-31', '2024-02-28', '2024-02-29', '2000-02-29', '2024-04-30', '2024-12-31'],
    bad: [
      '2023-02-29',
      '1900-02-29',
      '2024-04-31',
      '2024-13-01',
      '2024-00-10',
      '2024-01-00',
      '2024-01-32',
      '2024/01/02',
      '2024-1-02x',
      '2024-06-2:',
      '2024-0:-01',
      '2024/06-23',
      '2024-06/23',
      '2024.06.23',
      '2024-0a-01',
    ],
  },
  timestamp: { good: ['2024-01-02T03:04:05Z', '2024-01-02 03:04'], bad: ['2024-01-02T24:00', '2024-01-02'] },
  text: {
    good: ['x', 'é', 'north', '"q""x"', '"a,b"', '"12"', '"\n"', '"\r\n"'],
    bad: ['bad"quote', '"unclosed', '"x"y'],
  },
};
const names = Object.keys(kinds);

describe('CsvInspector (one pass)', () => {
  it('agrees with the two-pass inspector on random CSVs, errors included, cut anywhere', () => {
    const column = fc.record({
      kind: fc.constantFrom(...names),
      /** Per mille of values drawn from another kind (widening, possibly late). */
      stray: fc.constantFrom(0, 0, 5, 50, 300),
      /** Per mille of bad values. */
      bad: fc.constantFrom(0, 3, 30),
      blanks: fc.constantFrom(0, 100, 500),
    });
    fc.assert(
      fc.property(
        fc.array(column, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 60 }),
        fc.infiniteStream(fc.nat({ max: 999 })),
        fc.constantFrom('\n', '\r\n'),
        fc.constantFrom('', '\ufeff', '\n\n', '\r\n'),
        fc.constantFrom('', '\n', '\n\n', '\r\n\r\n'),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom(0, 0, 1, 2),
        (columns, rows, draws, eol, lead, tail, cuts, ragged) => {
          const draw = (): number => draws.next().value as number;
          const pick = (xs: string[]): string => xs[draw() % xs.length] as string;
          const lines = [columns.map((_, i) => `c${i}`).join(',')];
          for (let r = 0; r < rows; r++) {
            const cells = columns.map(({ kind, stray, bad, blanks }) => {
              if (draw() < blanks) return '';
              if (draw() < bad) return pick(kinds[kind]?.bad as string[]);
              const from = draw() < stray ? pick(names) : kind;
              return pick(kinds[from]?.good as string[]);
            });
            // Now and then a row with a field too many or too few, or a blank line.
            if (ragged === 1 && draw() < 20) cells.push('1');
            if (ragged === 2 && draw() < 20) cells.pop();
            lines.push(draw() < 10 ? '' : cells.join(','));
          }
          const bytes = utf8(`${lead}${lines.join(eol)}${tail}`);
          // The header's own block is read the two-pass way: cut after it, so every row after
          // it goes through the one-pass scan.
          const afterHeader = [...cuts, bytes.indexOf(10, utf8(lead).length) + 1];
          expect(outcome(new CsvInspector(), bytes, afterHeader)).toEqual(
            outcome(new ReferenceCsvInspector(), bytes, afterHeader),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('widens a column at its one bad value, as the reference does, for every bad value', () => {
    for (const { good, bad } of Object.values(kinds)) {
      for (const value of bad) {
        for (const at of [0, 7, 19]) {
          const cells = Array.from({ length: 20 }, (_, i) =>
            i === at ? value : (good[i % good.length] as string),
          );
          const bytes = utf8(`a,b\n${cells.map((c) => `${c},x`).join('\n')}\n`);
          const cuts = [4]; // after the header, so every row takes the one-pass scan
          expect(outcome(new CsvInspector(), bytes, cuts)).toEqual(
            outcome(new ReferenceCsvInspector(), bytes, cuts),
          );
        }
      }
    }
  });

  it('keeps a type over many rows and widens at the last one, as the reference does', () => {
    for (const [kind, last] of [
      ['42', '1.5'],
      ['1.5', 'x'],
      ['2024-02-28', '2024-02-29'],
      ['2023-03-31', '2023-02-29'],
      ['true', '1'],
      ['123456789012345', '1234567890123456'],
      ['99999999999999.9', '9999999999999999.9'],
    ] as const) {
      const bytes = utf8(`a,b\n${`${kind},x\n`.repeat(50_000)}${last},x\n`);
      const cuts = Array.from({ length: 20 }, (_, i) => i * 65_536);
      expect(outcome(new CsvInspector(), bytes, cuts)).toEqual(
        outcome(new ReferenceCsvInspector(), bytes, cuts),
      );
    }
  });
});
