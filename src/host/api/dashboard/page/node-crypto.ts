/**
 * What the shared modules the page bundles (the pipeline hash, statement signing, the job
 * request's nonce) take from `node:crypto`, for the browser: SHA-256 and random bytes. The
 * bundler (../assets.ts) resolves `node:crypto` here, so the page runs the project's own
 * hashing and signing code rather than a copy of it.
 */
import { sha256AsU8a } from '@polkadot/util-crypto';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Bytes that print as hex, as node's Buffer does for `toString('hex')`. */
class HexBytes extends Uint8Array {
  override toString(encoding?: string): string {
    if (encoding === 'hex') return hex(this);
    return super.toString();
  }
}

/** A SHA-256 hash as node:crypto's createHash('sha256') gives it (update, then digest). */
export function createHash(algorithm: string): {
  update(data: string | Uint8Array): ReturnType<typeof createHash>;
  digest(encoding?: 'hex'): string | Uint8Array;
} {
  if (algorithm !== 'sha256') throw new Error(`only sha256 is available in the browser, not ${algorithm}`);
  const parts: Uint8Array[] = [];
  const hash = {
    update(data: string | Uint8Array) {
      parts.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
      return hash;
    },
    digest(encoding?: 'hex') {
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      const d = sha256AsU8a(all);
      return encoding === 'hex' ? hex(d) : new HexBytes(d);
    },
  };
  return hash;
}

/** `n` random bytes from the browser's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new HexBytes(n));
}
