import { describe, expect, it } from 'vitest';
import { ed25519FromSeed, ed25519Sign, ed25519Verify, generateEd25519 } from '../../src/common/ed25519.ts';

// RFC 8032 section 7.1, TEST 1 and TEST 2.
const VECTORS = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

describe('ed25519', () => {
  it.each(VECTORS)('matches RFC 8032 vector for public key $pub', (v) => {
    const kp = ed25519FromSeed(Buffer.from(v.seed, 'hex'));
    expect(kp.publicKey).toBe(v.pub);
    expect(ed25519Sign(kp.seed, Buffer.from(v.msg, 'hex'))).toBe(v.sig);
    expect(ed25519Verify(v.pub, Buffer.from(v.msg, 'hex'), v.sig)).toBe(true);
  });

  it('refuses a changed message, a changed signature and malformed input without throwing', () => {
    const kp = generateEd25519();
    const sig = ed25519Sign(kp.seed, 'hello');
    expect(ed25519Verify(kp.publicKey, 'hello', sig)).toBe(true);
    expect(ed25519Verify(kp.publicKey, 'hellp', sig)).toBe(false);
    // Flip one bit of the last byte: setting it to a fixed value leaves it unchanged one run in 256.
    const lastByte = Number.parseInt(sig.slice(-2), 16) ^ 0x01;
    expect(
      ed25519Verify(kp.publicKey, 'hello', `${sig.slice(0, -2)}${lastByte.toString(16).padStart(2, '0')}`),
    ).toBe(false);
    expect(ed25519Verify('zz', 'hello', sig)).toBe(false);
    expect(ed25519Verify(kp.publicKey, 'hello', 'abc')).toBe(false);
  });

  it('rejects seeds of the wrong length', () => {
    expect(() => ed25519FromSeed(new Uint8Array(31))).toThrow(RangeError);
  });
});
