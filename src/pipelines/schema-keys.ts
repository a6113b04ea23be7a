/**
 * The keys a pipeline document may hold at a given place, read from its zod schema, so that
 * an unknown key (a typo such as `group_bye` or `aggregat`) can be answered with the key
 * that was meant. Only the schema is read: the names suggested are the language's own.
 */
import { z } from 'zod';

/** Unwrap the wrappers that do not change where a key may stand. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault)
      s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else if (s instanceof z.ZodLazy) s = s.unwrap() as z.ZodType;
    else return s;
  }
}

/** The schemas a value at `path` (object keys and array indexes) may be checked against. */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  const s = unwrap(schema);
  if (path.length === 0) return [s];
  const [head, ...rest] = path;
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).flatMap((o) => schemasAt(o, path));
  if (s instanceof z.ZodArray) return schemasAt(s.element as z.ZodType, rest);
  if (s instanceof z.ZodRecord) return schemasAt(s.valueType as z.ZodType, rest);
  if (s instanceof z.ZodObject && typeof head === 'string' && Object.hasOwn(s.shape, head))
    return schemasAt(s.shape[head] as z.ZodType, rest);
  return [];
}

/** The keys an object at `path` in a document of `schema` may have (none if no object stands there). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return schemasAt(schema, path).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : []));
}
