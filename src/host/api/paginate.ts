/**
 * Pages of a list route: every list of /v1 takes `limit` (1-500, default 100) and `cursor`
 * (the `next` of the previous page, opaque to clients) and answers `next`: the cursor of
 * the following page, or null on the last one. A cursor names the last item of its page, so
 * items added meanwhile never shift a page already read.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { ObscuraError } from '../../common/errors.ts';

/** Default and largest page size. */
export const PAGE_DEFAULT = 100;
export const PAGE_MAX = 500;

/** The query parameters every list takes (documented in the OpenAPI document from here). */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(PAGE_MAX).optional(),
  cursor: z.string().min(1).max(200).optional(),
});

/** One page of `items` (in the route's order) and the cursor of the next, from the request's query. */
export function paginate<T>(
  req: Request,
  items: readonly T[],
  idOf: (item: T) => string,
): { page: T[]; next: string | null } {
  const { limit, after } = pageQuery(req);
  let start = 0;
  if (after !== undefined) {
    const at = items.findIndex((i) => idOf(i) === after);
    if (at < 0) throw cursorInvalid();
    start = at + 1;
  }
  const page = items.slice(start, start + limit);
  const last = page.at(-1);
  const more = start + limit < items.length && last !== undefined;
  return { page, next: more ? cursorOf(idOf(last)) : null };
}

/** How a list reads its items from the store a batch at a time (see pageAfter). */
export interface ListSource<T> {
  /** Up to `n` items in the list's order after the item `after` (from the start when undefined). */
  fetch(after: string | undefined, n: number): T[];
  /** Whether the caller may see this item (the exact check; `fetch` may return more). */
  keep(item: T): boolean;
  idOf(item: T): string;
  /** Whether `id` names an item of this list as the caller sees it (a cursor must). */
  lists(id: string): boolean;
}

/**
 * One page of a list the store reads in order after a cursor (keyset paging), answered as
 * `paginate` answers: the same query parameters, cursors and refusals. Only a page's worth
 * of items (and those `keep` drops) is read, so a list request costs the same however many
 * items the store holds: reading every item to keep a page made each request's time and
 * memory grow with the store (the soak's host memory, BENCHMARKS.md).
 */
export function pageAfter<T>(req: Request, source: ListSource<T>): { page: T[]; next: string | null } {
  const { limit, after } = pageQuery(req);
  if (after !== undefined && !source.lists(after)) throw cursorInvalid();
  // One more than a page tells whether a next page exists.
  const want = limit + 1;
  const kept: T[] = [];
  let from = after;
  for (;;) {
    const batch = source.fetch(from, want);
    for (const item of batch) {
      if (source.keep(item)) kept.push(item);
      if (kept.length === want) break;
    }
    const last = batch.at(-1);
    if (kept.length === want || batch.length < want || last === undefined) break;
    from = source.idOf(last);
  }
  const page = kept.slice(0, limit);
  const last = page.at(-1);
  const more = kept.length > limit && last !== undefined;
  return { page, next: more ? cursorOf(source.idOf(last)) : null };
}

/** The page size and the id the cursor names, from the request's query. */
function pageQuery(req: Request): { limit: number; after: string | undefined } {
  const parsed = PageQuerySchema.safeParse({ limit: req.query.limit, cursor: req.query.cursor });
  if (!parsed.success)
    throw new ObscuraError(
      'page_query_invalid',
      `limit must be a whole number from 1 to ${PAGE_MAX}, cursor the next of a previous page`,
      400,
    );
  const { cursor } = parsed.data;
  return {
    limit: parsed.data.limit ?? PAGE_DEFAULT,
    after: cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString('utf8'),
  };
}

function cursorOf(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function cursorInvalid(): ObscuraError {
  return new ObscuraError('page_cursor_invalid', 'the cursor names no item of this list', 400);
}
