/**
 * Hashing and canonical JSON. Hashes of documents (pipelines, manifests, results) are
 * SHA-256 over their RFC 8785 (JCS) canonical form, so key order and formatting never
 * change an identity.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

// canonicalize is CommonJS (`module.exports = fn`) but its types declare an ES default export;
// under NodeNext the default import is the function itself at run time.
const canonicalizeJson = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** Lower-case hex SHA-256 of bytes or a UTF-8 string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 8785 canonical JSON text of a JSON value. Throws on values JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  const text = canonicalizeJson(value);
  if (text === undefined) throw new TypeError('value has no canonical JSON form');
  return text;
}

/** SHA-256 (hex) of the canonical JSON form of a value. */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
