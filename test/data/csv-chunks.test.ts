/**
 * csvChunks cuts a CSV stream into standalone CSVs at row ends outside quotes, reusing one
 * buffer: whatever the pieces it is fed, every chunk starts with the header, ends at a row
 * end, and the chunks' rows joined are the input's rows — also when the consumer wipes each
 * chunk before asking for the next, as the enclave does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvChunks, csvRowRanges } from '../../src/data/csv-chunks.ts';

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

  it("leaves none of a chunk's rows in its buffer once the next is asked for, and nothing at the end", async () => {
    // The enclave relies on this instead of wiping each chunk itself (stream-input.ts).
    const header = 'id,v\n';
    const text = header + Array.from({ length: 5000 }, (_, i) => `row${i},${i * 7}`).join('\n');
    async function* pieces() {
      for (let at = 0; at < text.length; at += 999) yield Buffer.from(text.slice(at, at + 999));
    }
    const held: { view: Buffer; rows: string }[] = [];
    for await (const chunk of csvChunks(pieces(), 4096)) {
      for (const h of held) expect(h.view.toString()).not.toContain(h.rows);
      held.push({ view: chunk, rows: chunk.subarray(header.length).toString() });
    }
    expect(held.length).toBeGreaterThan(5);
    for (const h of held) expect(h.view.every((b) => b === 0)).toBe(true);
  });

  it('csvRowRanges cuts a whole CSV after the header and at row ends outside quotes only, covering it', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), fc.integer({ min: 1, max: 64 }), (rows, target) => {
        const text = `"h\n1",h2\n${rows.join('\n')}`;
        const bytes = Buffer.from(text);
        const quotesBefore = (end: number) => bytes.subarray(0, end).filter((b) => b === 0x22).length;
        const { header, ranges } = csvRowRanges(bytes, target);
        expect(header).toBe(Math.min(bytes.length, Buffer.byteLength('"h\n1",h2\n')));
        let at = header;
        for (const [start, end] of ranges) {
          expect(start).toBe(at);
          expect(end).toBeGreaterThan(start);
          if (end < bytes.length) {
            expect(bytes[end - 1]).toBe(0x0a);
            expect(quotesBefore(end) % 2).toBe(0);
          }
          at = end;
        }
        expect(at).toBe(Math.max(header, bytes.length));
      }),
      { numRuns: 150 },
    );
  });
});
