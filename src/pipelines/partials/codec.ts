/**
 * Partials as bytes, for travelling sealed between enclaves: canonical JSON out, and in,
 * a schema-checked, version-checked parse whose failures name no value.
 */
import { canonicalJson } from '../../common/hash.ts';
import { pipelineError } from '../errors.ts';
import { PARTIAL_VERSION, type PartialAggregate, PartialAggregateSchema } from './schema.ts';

/** The canonical JSON bytes of a partial aggregate. */
export function encodePartial(p: PartialAggregate): Uint8Array {
  return new TextEncoder().encode(canonicalJson(p));
}

/**
 * A partial aggregate from bytes or parsed JSON. Throws 'pipeline_partial_mismatch' for
 * another version or anything that is not a well-formed partial (naming the field, never a value).
 */
export function decodePartial(input: Uint8Array | unknown): PartialAggregate {
  let value: unknown = input;
  if (input instanceof Uint8Array) {
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input));
    } catch {
      throw pipelineError('pipeline_partial_mismatch', 'a partial aggregate is not JSON');
    }
  }
  const version = (value as { obscura_partial?: unknown } | null)?.obscura_partial;
  if (version !== PARTIAL_VERSION) {
    throw pipelineError(
      'pipeline_partial_mismatch',
      `a partial aggregate of version ${typeof version === 'number' ? version : 'unknown'} (this release reads version ${PARTIAL_VERSION})`,
    );
  }
  const parsed = PartialAggregateSchema.safeParse(value);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join('.') ?? '';
    throw pipelineError(
      'pipeline_partial_mismatch',
      `a partial aggregate is malformed at ${path || 'its root'}`,
    );
  }
  return parsed.data;
}
