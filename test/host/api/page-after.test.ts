/**
 * Keyset pages (pageAfter): the same pages, cursors and refusals as paginate over the kept
 * items, while reading only about a page's worth of the store per request, however large it is.
 */
import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { type ListSource, pageAfter, paginate } from '../../../src/host/api/paginate.ts';

const ITEMS = Array.from({ length: 5000 }, (_, i) => `item-${String(i).padStart(5, '0')}`);

/** A store of ITEMS in order where the caller may see every `every`-th; counts what it reads. */
function source(every: number): ListSource<string> & { read: number } {
  const s = {
    read: 0,
    fetch(after: string | undefined, n: number) {
      const start = after === undefined ? 0 : ITEMS.indexOf(after) + 1;
      const batch = ITEMS.slice(start, start + n);
      s.read += batch.length;
      return batch;
    },
    keep: (id: string) => Number(id.slice(5)) % every === 0,
    idOf: (id: string) => id,
    lists: (id: string) => ITEMS.includes(id) && Number(id.slice(5)) % every === 0,
  };
  return s;
}

const request = (query: Record<string, string>) => ({ query }) as unknown as Request;

describe('keyset pages', () => {
  it('walks the same pages as paginate over the kept items', () => {
    const kept = ITEMS.filter(source(7).keep);
    let cursor: string | undefined;
    for (;;) {
      const q = { limit: '50', ...(cursor ? { cursor } : {}) };
      const got = pageAfter(request(q), source(7));
      expect(got).toEqual(paginate(request(q), kept, (i) => i));
      if (!got.next) break;
      cursor = got.next;
    }
  });

  it('reads a page and the items the caller may not see before it, not the whole store', () => {
    const all = source(1);
    expect(pageAfter(request({ limit: '10' }), all).page).toHaveLength(10);
    expect(all.read).toBeLessThanOrEqual(11);
    const sparse = source(10);
    const { page, next } = pageAfter(request({ limit: '10' }), sparse);
    expect(page).toHaveLength(10);
    expect(next).not.toBeNull();
    // 11 kept items lie within the first 101; batches of 11 read at most one batch past them.
    expect(sparse.read).toBeLessThanOrEqual(101 + 11);
  });

  it('refuses a cursor that names no item the caller may see', () => {
    for (const cursor of ['nope', 'item-00001']) {
      expect(() =>
        pageAfter(request({ cursor: Buffer.from(cursor).toString('base64url') }), source(2)),
      ).toThrow(expect.objectContaining({ code: 'page_cursor_invalid', status: 400 }));
    }
    expect(() => pageAfter(request({ limit: '0' }), source(2))).toThrow(
      expect.objectContaining({ code: 'page_query_invalid' }),
    );
  });
});
