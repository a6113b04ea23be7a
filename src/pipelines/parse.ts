/**
 * Reading a pipeline document from text. YAML 1.2 (core schema) is a superset of JSON, so
 * one parser reads both forms; duplicate keys, aliases beyond a small budget and
 * non-JSON values are refused. The result is validated against PipelineDocumentSchema.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { type PipelineDocument, PipelineDocumentSchema } from './schema.ts';
import { formatPath, pipelineError } from './errors.ts';
import { closest, didYouMean } from '../common/did-you-mean.ts';
import { keysAt } from './schema-keys.ts';

/** Largest pipeline document accepted, in characters. */
export const MAX_PIPELINE_TEXT = 1_000_000;

/**
 * Parse a pipeline written as YAML or JSON. Throws ObscuraError 'pipeline_invalid' (400)
 * whose `details.path` (e.g. "steps[1].aggregate.measures.mean_cost") and message name
 * the first problem; `details.issues` lists up to 20.
 */
export function parsePipeline(text: string): PipelineDocument {
  if (text.length > MAX_PIPELINE_TEXT) {
    throw pipelineError(
      'pipeline_invalid',
      `pipeline document is longer than ${MAX_PIPELINE_TEXT} characters`,
      { path: '' },
    );
  }
  let value: unknown;
  try {
    value = parseYaml(text, {
      schema: 'core',
      uniqueKeys: true,
      maxAliasCount: 100,
      prettyErrors: true,
      strict: true,
    });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const pos = e.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      throw pipelineError('pipeline_invalid', `pipeline is not valid YAML or JSON${where} (${e.code})`, {
        path: '',
        line: pos?.line,
        column: pos?.col,
      });
    }
    throw pipelineError('pipeline_invalid', 'pipeline is not valid YAML or JSON', { path: '' });
  }
  const parsed = PipelineDocumentSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  let hinted: { path: string; message: string } | undefined;
  const issues = parsed.error.issues.slice(0, 20).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = formatPath(keys.length === 1 ? [...issue.path, keys[0] as string] : issue.path);
    if (issue.code !== 'unrecognized_keys') return { path, message: issue.message };
    const known = keysAt(PipelineDocumentSchema, issue.path);
    const message = unknownKeys(keys, known);
    if (!hinted && keys.some((k) => closest(k, known) !== undefined)) hinted = { path, message };
    return { path, message };
  });
  // A typo of a required key (`stpes`) also reads as that key missing: the hint says more, so it goes first.
  const first = hinted ?? (issues[0] as { path: string; message: string });
  throw pipelineError(
    'pipeline_invalid',
    `pipeline is invalid at ${first.path || 'the top level'}: ${first.message}`,
    {
      path: first.path,
      issues,
    },
  );
}

/** `unknown key (did you mean K?)`, or for several `unknown keys a (did you mean A?), b`. */
function unknownKeys(keys: string[], known: string[]): string {
  if (keys.length === 1) return `unknown key${didYouMean(keys[0] as string, known)}`;
  return `unknown keys ${keys.map((k) => `${k}${didYouMean(k, known)}`).join(', ')}`;
}
