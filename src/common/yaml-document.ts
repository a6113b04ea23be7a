/**
 * Documents users write by hand (attestation and dataset policies): YAML 1.2 core schema
 * (a superset of JSON, so `expires: 2027-12-31T00:00:00Z` stays a string), duplicate keys
 * refused, validated by a strict schema, and every problem reported with its path, so a
 * misspelt limit is an error that says where it is, never silently dropped.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ObscuraError } from './errors.ts';

/** How a kind of document fails: its error code and what to call it in messages. */
export interface DocumentKind {
  code: string;
  what: string;
}

function issuePath(path: readonly PropertyKey[]): string {
  return (
    path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') ||
    '(document)'
  );
}

/** `value` validated by `schema`; throws `kind.code` (400) naming each bad path. */
export function parseDocumentValue<T>(
  schema: z.ZodType<T>,
  value: unknown,
  kind: DocumentKind,
  source = kind.what,
): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`);
    throw new ObscuraError(kind.code, `${source}: ${issues.join('; ')}`, 400, { issues });
  }
  return r.data;
}

/** The value of YAML (or JSON) text; throws `kind.code` (400) with the line and column of a syntax error. */
export function parseYamlText(text: string, kind: DocumentKind, source = kind.what): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e?.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ObscuraError(kind.code, `${source}: not valid YAML${where}: ${e?.message.split('\n')[0]}`, 400);
  }
  return doc.toJS();
}

/** The text of a document file; throws 'file_unreadable' (400) naming the file. */
export async function readDocumentFile(path: string, kind: DocumentKind): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ObscuraError('file_unreadable', `cannot read ${kind.what} file ${path}`, 400, undefined, {
      cause: e,
    });
  }
}
