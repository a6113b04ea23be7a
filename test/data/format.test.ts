/** detectFormat: magic bytes first, then the file name and whether the bytes look like text. */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import { detectFormat } from '../../src/data/index.ts';

const bytes = (...xs: number[]) => new Uint8Array(xs);
const text = (s: string) => new TextEncoder().encode(s);

describe('detectFormat', () => {
  it('recognises magic bytes whatever the name says', () => {
    expect(detectFormat('data.csv', text('PAR1\u0015\u0004'))).toBe('parquet');
    expect(detectFormat('x', text('ARROW1\u0000\u0000'))).toBe('arrow');
    expect(detectFormat('x.bin', bytes(0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0))).toBe('arrow');
  });

  it('takes text as CSV', () => {
    expect(detectFormat('visits.csv', text('a,b\n1,2\n'))).toBe('csv');
    expect(detectFormat('upload', text('a,b\n'))).toBe('csv');
    expect(detectFormat('empty.csv', new Uint8Array(0))).toBe('csv');
  });

  it('refuses binary without magic, and names that claim a binary format', () => {
    for (const [name, head] of [
      ['blob', bytes(1, 2, 0, 4)],
      ['data.parquet', text('a,b\n1,2')],
      ['data.arrow', text('a,b\n1,2')],
    ] as const) {
      try {
        detectFormat(name, head);
        expect.unreachable();
      } catch (e) {
        expect(isObscuraError(e, 'dataset_format_unknown')).toBe(true);
        expect((e as { status: number }).status).toBe(415);
      }
    }
  });
});
