/**
 * A pipeline's identity: SHA-256 (hex) of the RFC 8785 canonical JSON of the parsed
 * document. The same pipeline written as YAML or JSON, with any key order, spacing or
 * comments, has the same hash.
 */
import { hashJson } from '../common/hash.ts';
import type { PipelineDocument } from './schema.ts';

/** Lower-case hex SHA-256 of the document's canonical JSON (JCS). */
export function pipelineHash(doc: PipelineDocument): string {
  return hashJson(doc);
}
