/**
 * What the shared modules the page bundles (the pipeline hash, statement signing, the job
 * request's nonce, SS58 address checks) take from `node:crypto`, for the browser: SHA-256,
 * SHA-512 and BLAKE2b-512 hashes, and random bytes. The
 * bundler (../assets.ts) resolves `node:crypto` here, so the page runs the project's own
 * hashing and signing code rather than a copy of it.
 */
// @noble/hashes, not @polkadot/util-crypto: the public page then loads no WebAssembly and
// no polkadot code until someone signs in.
import { blake2b } from '@noble/hashes/blake2';
import { sha256, sha512 } from '@noble/hashes/sha2';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const DIGESTS: Record<string, (data: Uint8Array) => Uint8Array> = {
  sha256: (d) => sha256(d),
  sha512: (d) => sha512(d),
  blake2b512: (d) => blake2b(d, { dkLen: 64 }),
};

/** A hash as node:crypto's createHash gives it (update, then digest). */
export function createHash(algorithm: string): {
  update(data: string | Uint8Array): ReturnType<typeof createHash>;
  digest(encoding?: 'hex'): string | Uint8Array;
} {
  const fn = DIGESTS[algorithm];
  if (!fn) throw new Error(`${algorithm} is not available in the browser`);
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
      const d = fn(all);
      // Buffer is the page's stand-in (buffer-shim.ts, injected by the bundler).
      return encoding === 'hex' ? hex(d) : Buffer.from(d);
    },
  };
  return hash;
}

/** `n` random bytes from the browser's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n)));
}
