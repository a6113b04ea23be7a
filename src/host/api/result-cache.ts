/**
 * Result documents as the bytes the API sends, with a strong ETag, kept in a bounded cache.
 *
 * A stored result never changes (results are insert-only), so its JSON is serialised once
 * instead of on every read: the read path was a store query, a JSON parse, a schema check
 * and a JSON.stringify per request. The cache holds bytes only; who may read a result is
 * decided on every request before the cache is consulted (access.ts), so a cached result
 * is never served to anyone the access rules would refuse.
 */
import { createHash } from 'node:crypto';

/** A serialised result: its JSON bytes and the ETag naming them. */
export interface CachedBody {
  body: Buffer;
  etag: string;
}

/** Default budget: enough for thousands of typical (few-KB) results. */
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** Serialise `value` as the API sends JSON, with a strong ETag from the bytes' SHA-256. */
export function jsonBody(value: unknown): CachedBody {
  const body = Buffer.from(JSON.stringify(value));
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
}

/**
 * Whether an `If-None-Match` header value matches `etag` (RFC 9110 §13.1.2: weak
 * comparison, a list of tags or `*`).
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/** A least-recently-used cache of serialised results by id, bounded in bytes. */
export class ResultBodyCache {
  readonly #entries = new Map<string, CachedBody>();
  #bytes = 0;

  constructor(private readonly maxBytes = DEFAULT_MAX_BYTES) {}

  /** The cached body for `id`, or `load()`'s, serialised and remembered. */
  get(id: string, load: () => unknown): CachedBody {
    const hit = this.#entries.get(id);
    if (hit) {
      // Re-insert: a Map iterates in insertion order, so the oldest entry comes first.
      this.#entries.delete(id);
      this.#entries.set(id, hit);
      return hit;
    }
    const entry = jsonBody(load());
    if (entry.body.length <= this.maxBytes) {
      this.#entries.set(id, entry);
      this.#bytes += entry.body.length;
      for (const [old, e] of this.#entries) {
        if (this.#bytes <= this.maxBytes) break;
        this.#entries.delete(old);
        this.#bytes -= e.body.length;
      }
    }
    return entry;
  }
}
