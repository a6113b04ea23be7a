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
  const parsed = PageQuerySchema.safeParse({ limit: req.query.limit, cursor: req.query.cursor });
  if (!parsed.success)
    throw new ObscuraError(
      'page_query_invalid',
      `limit must be a whole number from 1 to ${PAGE_MAX}, cursor the next of a previous page`,
      400,
    );
  const limit = parsed.data.limit ?? PAGE_DEFAULT;
  let start = 0;
  if (parsed.data.cursor !== undefined) {
    const after = Buffer.from(parsed.data.cursor, 'base64url').toString('utf8');
    const at = items.findIndex((i) => idOf(i) === after);
    if (at < 0) throw new ObscuraError('page_cursor_invalid', 'the cursor names no item of this list', 400);
    start = at + 1;
  }
  const page = items.slice(start, start + limit);
  const last = page.at(-1);
  const more = start + limit < items.length && last !== undefined;
  return { page, next: more ? Buffer.from(idOf(last), 'utf8').toString('base64url') : null };
}
