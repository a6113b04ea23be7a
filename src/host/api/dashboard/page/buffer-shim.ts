/**
 * The little of Node's Buffer that modules the page bundles use when they load (constant
 * byte strings such as age's header marks and DER key prefixes): esbuild injects this as
 * `Buffer` wherever a bundled module names it (../assets.ts). Paths that need more of
 * Buffer are Node's alone (reading and sealing files) and fail loudly in the browser.
 */
function bytesOf(value: string | ArrayLike<number>, encoding?: string): Uint8Array {
  if (typeof value !== 'string') return Uint8Array.from(value);
  if (encoding === 'hex') return Uint8Array.from(value.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
  if (encoding === 'latin1' || encoding === 'binary')
    return Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff);
  return new TextEncoder().encode(value);
}

/** Bytes with Buffer's hex, latin1 and utf-8 toString, and equals. */
class ShimBuffer extends Uint8Array {
  equals(other: Uint8Array): boolean {
    return this.length === other.length && this.every((x, i) => x === other[i]);
  }
  override toString(encoding?: string): string {
    if (encoding === 'hex') return Array.from(this, (x) => x.toString(16).padStart(2, '0')).join('');
    if (encoding === 'latin1') return String.fromCharCode(...this);
    return new TextDecoder().decode(this);
  }
}

function copy(b: Uint8Array): ShimBuffer {
  const out = new ShimBuffer(b.length);
  out.set(b);
  return out;
}

/** Buffer's constructors, as bundled modules call them. */
export const Buffer = {
  from: (value: string | ArrayLike<number>, encoding?: string): ShimBuffer => copy(bytesOf(value, encoding)),
  alloc: (n: number): ShimBuffer => new ShimBuffer(n),
  concat: (parts: readonly Uint8Array[]): ShimBuffer => {
    const out = new ShimBuffer(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  },
  isBuffer: (v: unknown): v is Uint8Array => v instanceof ShimBuffer,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Whether `bytes` is valid UTF-8, as node:buffer's isUtf8 says. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
