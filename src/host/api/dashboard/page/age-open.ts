/**
 * Opening an age file (binary, X25519 recipients: what src/crypto/age writes for sealed
 * result outputs) in the browser, where node:crypto does not exist: the header's X25519
 * stanza unwrapped with the reader's identity, the header MAC checked, then the STREAM
 * payload (ChaCha20-Poly1305, 64 KiB chunks) opened, each chunk authenticated. The result's
 * hashes are then checked by the project's own openOutputs (src/contracts/result-outputs.ts).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519';
import { hkdf } from '@noble/hashes/hkdf';
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { base64 } from '@scure/base';

const CHUNK = 64 * 1024;
const TAG = 16;

/** The age file could not be opened with this identity (or is not an age file). */
export class AgeOpenError extends Error {}

const b64 = (s: string): Uint8Array => base64.decode(s + '='.repeat((4 - (s.length % 4)) % 4));
const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Split off the header: its lines up to and including `--- MAC`, and where the payload starts. */
function header(file: Uint8Array): {
  lines: string[];
  macInput: Uint8Array;
  mac: Uint8Array;
  payload: number;
} {
  const lines: string[] = [];
  let at = 0;
  for (;;) {
    const nl = file.indexOf(10, at);
    if (nl < 0 || lines.length > 1000) throw new AgeOpenError('not an age file (no header end)');
    const line = new TextDecoder().decode(file.subarray(at, nl));
    if (line.startsWith('--- ')) {
      return { lines, macInput: file.subarray(0, at + 3), mac: b64(line.slice(4)), payload: nl + 1 };
    }
    lines.push(line);
    at = nl + 1;
  }
}

/** The file key from the X25519 stanza made for `scalar`'s public key, or null. */
function unwrap(lines: string[], scalar: Uint8Array): Uint8Array | null {
  if (lines[0] !== 'age-encryption.org/v1') throw new AgeOpenError('not an age v1 file');
  const ours = x25519.getPublicKey(scalar);
  for (let i = 1; i < lines.length; i++) {
    const args = (lines[i] ?? '').split(' ');
    if (args[0] !== '->') continue;
    let body = '';
    for (let j = i + 1; j < lines.length && !(lines[j] ?? '').startsWith('->'); j++) {
      body += lines[j];
      if ((lines[j] ?? '').length < 64) break;
    }
    if (args[1] !== 'X25519' || args.length !== 3) continue;
    const share = b64(args[2] ?? '');
    const shared = x25519.getSharedSecret(scalar, share);
    const key = hkdf(sha256, shared, new Uint8Array([...share, ...ours]), 'age-encryption.org/v1/X25519', 32);
    try {
      return chacha20poly1305(key, new Uint8Array(12)).decrypt(b64(body));
    } catch {
      // a stanza for another reader
    }
  }
  return null;
}

/** The plaintext of age file `file` for the X25519 identity `scalar`. */
export function openAge(file: Uint8Array, scalar: Uint8Array): Uint8Array {
  const h = header(file);
  const fileKey = unwrap(h.lines, scalar);
  if (!fileKey) throw new AgeOpenError('no recipient stanza of this file opens with this key');
  if (!equal(hmac(sha256, hkdf(sha256, fileKey, new Uint8Array(0), 'header', 32), h.macInput), h.mac))
    throw new AgeOpenError('the age header MAC does not match');
  const nonce = file.subarray(h.payload, h.payload + 16);
  const key = hkdf(sha256, fileKey, nonce, 'payload', 32);
  const body = file.subarray(h.payload + 16);
  const out: Uint8Array[] = [];
  let n = 0;
  for (let at = 0; at < body.length || n === 0; at += CHUNK + TAG, n++) {
    const chunk = body.subarray(at, at + CHUNK + TAG);
    const last = at + CHUNK + TAG >= body.length;
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(7, n); // a 11-byte big-endian counter, then the last-chunk flag
    iv[11] = last ? 1 : 0;
    try {
      out.push(chacha20poly1305(key, iv).decrypt(chunk));
    } catch {
      throw new AgeOpenError('the age payload is altered or cut short');
    }
    if (last) break;
  }
  const all = new Uint8Array(out.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of out) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}
