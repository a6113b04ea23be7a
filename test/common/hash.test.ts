import { describe, expect, it } from 'vitest';
import { canonicalJson, hashJson, sha256Hex } from '../../src/common/hash.ts';

describe('hashing', () => {
  it('computes SHA-256 (FIPS 180-2 "abc" vector)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('canonicalises JSON per RFC 8785 (sorted keys, ES number forms)', () => {
    // From RFC 8785 section 3.2.2 / 3.2.3 examples; the first literal is the RFC's own, whose
    // last digits JavaScript cannot hold, which is what the canonical form must show.
    expect(
      canonicalJson({
        // biome-ignore lint/correctness/noPrecisionLoss: the RFC vector is written this way on purpose
        numbers: [333333333.33333329, 1e30, 4.5, 0.002, 1e-27],
        literals: [null, true, false],
      }),
    ).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}');
    expect(hashJson({ b: 1, a: 2 })).toBe(hashJson({ a: 2, b: 1 }));
  });

  it('refuses values without a JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});
