/**
 * Ed25519 on node:crypto, with keys as raw 32-byte hex: results are signed by the enclave's
 * key and simulated reports by the simulated authority's. Raw hex keeps them readable in
 * JSON documents and comparable byte for byte.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

// PKCS#8 / SPKI DER prefixes for Ed25519 (RFC 8410): a raw 32-byte key follows each.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** An Ed25519 key pair; `seed` is secret. */
export interface Ed25519KeyPair {
  seed: Buffer;
  publicKey: string;
}

/** A new random Ed25519 key pair. */
export function generateEd25519(): Ed25519KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return ed25519FromSeed(Buffer.from(der.subarray(der.length - 32)));
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The key pair for a 32-byte seed. Throws RangeError on a wrong length. */
export function ed25519FromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.length !== 32) throw new RangeError('ed25519 seed must be 32 bytes');
  const pub = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return { seed: Buffer.from(seed), publicKey: Buffer.from(pub.subarray(pub.length - 32)).toString('hex') };
}

/** Hex Ed25519 signature of `message` with the key of `seed`. */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array | string): string {
  return sign(null, Buffer.from(message), privateKeyObject(seed)).toString('hex');
}

/** Whether `signature` (hex) is a valid signature of `message` by `publicKey` (hex). Never throws. */
export function ed25519Verify(publicKey: string, message: Uint8Array | string, signature: string): boolean {
  try {
    if (!/^[0-9a-f]{64}$/.test(publicKey) || !/^[0-9a-f]{128}$/.test(signature)) return false;
    const key = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, Buffer.from(publicKey, 'hex')]),
      format: 'der',
      type: 'spki',
    });
    return verify(null, Buffer.from(message), key, Buffer.from(signature, 'hex'));
  } catch {
    return false;
  }
}
