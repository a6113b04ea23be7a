/**
 * P-256 signatures over Intel's PKI (src/attestation/dcap/p256.ts) are checked by node:crypto
 * in Node and by @noble/curves in the dashboard page: both must accept and refuse the same
 * signatures, high S included (Intel's PKI does not normalise S).
 */
import { createHash } from 'node:crypto';
import { p256 } from '@noble/curves/nist';
import { describe, expect, it } from 'vitest';
import { certificatePublicKey, certificateSignedBy, verifyP256 } from '../../src/attestation/dcap/p256.ts';
import { collateral } from './dcap-fixtures.ts';

const noble = (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean => {
  try {
    return p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: 'der' });
  } catch {
    return false;
  }
};

/** The DER signature of `message` by `secret`, with S as signed or flipped to n - S. */
function signDer(secret: Uint8Array, message: Uint8Array, highS: boolean): Uint8Array {
  const digest = createHash('sha256').update(message).digest();
  const sig = p256.sign(digest, secret, { lowS: true, prehash: false });
  const s = highS ? p256.CURVE.n - sig.s : sig.s;
  return new p256.Signature(sig.r, s).toDERRawBytes();
}

describe('P-256 signatures (node:crypto in Node, @noble/curves in the page)', () => {
  const secret = p256.utils.randomPrivateKey();
  const publicKey = p256.getPublicKey(secret, false);
  const message = new TextEncoder().encode('tbsCertList of a PCK CRL');

  it('accepts what @noble/curves accepts and refuses what it refuses', () => {
    const low = signDer(secret, message, false);
    const high = signDer(secret, message, true);
    const tamperedSig = Uint8Array.from(low);
    tamperedSig[tamperedSig.length - 1] = (tamperedSig[tamperedSig.length - 1] as number) ^ 1;
    const otherMessage = new TextEncoder().encode('tbsCertList of another CRL');
    const otherKey = p256.getPublicKey(p256.utils.randomPrivateKey(), false);
    const cases: [Uint8Array, Uint8Array, Uint8Array, boolean][] = [
      [message, low, publicKey, true],
      [message, high, publicKey, true],
      [otherMessage, low, publicKey, false],
      [message, tamperedSig, publicKey, false],
      [message, low, otherKey, false],
      [message, low.subarray(0, 10), publicKey, false],
      [message, low, publicKey.subarray(0, 64), false],
    ];
    for (const [m, sig, key, want] of cases) {
      expect(verifyP256(m, sig, key)).toBe(want);
      expect(noble(m, sig, key)).toBe(want);
    }
  });

  it("verifies Intel's own chain: the PCK CA certificate signed by the root", () => {
    const { pck_crl_issuer_chain: chain } = collateral('tdx');
    const ders = [...chain.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map(
      (m) => Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64'),
    );
    expect(ders.length).toBe(2);
    const [ca, root] = ders as [Buffer, Buffer];
    expect(certificateSignedBy(ca, root)).toBe(true);
    expect(certificateSignedBy(root, root)).toBe(true);
    expect(certificateSignedBy(root, ca)).toBe(false);
    expect(certificatePublicKey(root)).toHaveLength(65);
  });
});
