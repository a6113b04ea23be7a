/**
 * Parsing untrusted values at a boundary with a zod schema, failing as an ObscuraError that
 * names the first bad field: one wording for every boundary (HTTP bodies, manifests, result
 * documents).
 */
import type { z } from 'zod';
import { type HttpStatus, ObscuraError } from './errors.ts';

/** `value` parsed by `schema`, or an ObscuraError `code` saying "<what> is invalid at <path>: <reason>". */
export function parseOrThrow<T>(
  schema: z.ZodType<T>,
  value: unknown,
  opts: { code: string; what: string; status?: HttpStatus },
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
  throw new ObscuraError(
    opts.code,
    `${opts.what} is invalid at ${where}: ${issue?.message ?? 'bad shape'}`,
    opts.status ?? 400,
    { path: where },
  );
}
