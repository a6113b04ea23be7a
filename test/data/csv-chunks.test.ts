/**
 * csvChunks cuts a CSV stream into standalone CSVs at row ends outside quotes, reusing one
 * buffer: whatever the pieces it is fed, every chunk starts with the header, ends at a row
 * end, and the chunks' rows joined are the input's rows — also when the consumer wipes each
 * chunk before asking for the next, as the enclave does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvChunks } from '../../src/data/csv-chunks.ts';

const row = fc
  .array(fc.constantFrom('a', 'bb', '"q,\nx"', '"say ""hi"""', '', '12345678'), {
    minLength: 2,
    maxLength: 2,
  })
  .map((f) => f.join(','));

describe('csvChunks', () => {
  it('yields whole rows behind the header, whatever the pieces, with the consumer wiping each chunk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        async (rows, cuts, target, trailing) => {
          const header = 'h1,h2\n';
          const text = header + rows.join('\n') + (trailing && rows.length ? '\n' : '');
          const bytes = Buffer.from(text);
          async function* pieces() {
            for (let at = 0, i = 0; at < bytes.length; i++) {
              const n = cuts[i % cuts.length] as number;
              yield Uint8Array.from(bytes.subarray(at, at + n));
              at += n;
            }
          }
          let body = '';
          let count = 0;
          for await (const chunk of csvChunks(pieces(), target)) {
            const s = chunk.toString();
            expect(s.startsWith(header)).toBe(true);
            body += s.slice(header.length);
            count++;
            chunk.fill(0);
          }
          expect(header + body).toBe(text);
          expect(count).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
