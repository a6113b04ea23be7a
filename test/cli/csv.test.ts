/** Result tables as CSV: numbers rounded for people (format-number.ts), fields quoted per RFC 4180. */
import { describe, expect, it } from 'vitest';
import { tableToCsv } from '../../src/cli/commands/result.ts';

describe('tableToCsv', () => {
  it('prints a decimal sum as written, not with its float tail', () => {
    const csv = tableToCsv({
      columns: [
        { name: 'region', type: 'string' },
        { name: 'total', type: 'float64' },
      ],
      rows: [
        ['north, east', 357102.3200000001],
        ['south', 12],
      ],
    } as Parameters<typeof tableToCsv>[0]);
    expect(csv).toBe('region,total\n"north, east",357102.32\nsouth,12\n');
  });
});
