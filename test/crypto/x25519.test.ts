/**
 * X25519 identities and recipients (src/crypto/age/x25519.ts): the age spec's example key
 * pair, generation, Bech32 strictness, and error messages that never echo key material.
 */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import { generateIdentity, identityToRecipient, parseRecipient } from '../../src/crypto/index.ts';
import { expectThrowsCode, seal } from './helpers.ts';
import { decryptToBuffer } from '../../src/crypto/index.ts';

// The example in the age spec (https://age-encryption.org/v1, "The X25519 recipient type"),
// also pinned in other implementations' tests: identity 0x42 × 32.
const SPEC_IDENTITY = 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX';
const SPEC_RECIPIENT = 'age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj';

describe('X25519 keys', () => {
  it('derives the spec example recipient from its identity', () => {
    expect(identityToRecipient(SPEC_IDENTITY)).toBe(SPEC_RECIPIENT);
    expect(Buffer.from(parseRecipient(SPEC_RECIPIENT)).length).toBe(32);
  });

  it('generates fresh, well-formed pairs', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    expect(a.identity).toMatch(/^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
    expect(a.recipient).toMatch(/^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/);
    expect(identityToRecipient(a.identity)).toBe(a.recipient);
    expect(a.identity).not.toBe(b.identity);
  });

  it('ignores surrounding whitespace, as in key files', () => {
    expect(identityToRecipient(`  ${SPEC_IDENTITY}\n`)).toBe(SPEC_RECIPIENT);
    expect(
      Buffer.from(parseRecipient(`${SPEC_RECIPIENT}\n`)).equals(Buffer.from(parseRecipient(SPEC_RECIPIENT))),
    ).toBe(true);
  });

  const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'q' ? 'p' : 'q') + s.slice(i + 1);

  it.each([
    ['an upper-case recipient', SPEC_RECIPIENT.toUpperCase()],
    ['a bad checksum', flip(SPEC_RECIPIENT, SPEC_RECIPIENT.length - 1)],
    ['a changed character', flip(SPEC_RECIPIENT, 10)],
    ['an identity', SPEC_IDENTITY],
    ['a post-quantum recipient', 'age1pq1' + 'q'.repeat(60)],
    ['a short key', 'age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equ'],
    ['a different prefix', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'],
    ['an empty string', ''],
    ['a non-string', 42 as unknown as string],
  ])('parseRecipient refuses %s', async (_name, text) => {
    await expectThrowsCode(() => parseRecipient(text), 'invalid_recipient');
  });

  it.each([
    ['a lower-case identity', SPEC_IDENTITY.toLowerCase()],
    ['a bad checksum', SPEC_IDENTITY.slice(0, -1) + (SPEC_IDENTITY.endsWith('X') ? 'Y' : 'X')],
    ['a recipient', SPEC_RECIPIENT],
    ['a post-quantum identity', 'AGE-SECRET-KEY-PQ-1' + 'Q'.repeat(60)],
    ['garbage', 'hunter2'],
  ])('identityToRecipient refuses %s', async (_name, text) => {
    await expectThrowsCode(() => identityToRecipient(text), 'invalid_identity');
  });

  it('never puts the offending key in the error message', () => {
    for (const [fn, input] of [
      [() => parseRecipient(SPEC_IDENTITY), SPEC_IDENTITY],
      [() => identityToRecipient(SPEC_IDENTITY.toLowerCase()), SPEC_IDENTITY.toLowerCase()],
    ] as const) {
      try {
        fn();
        expect.unreachable();
      } catch (e) {
        expect(isObscuraError(e)).toBe(true);
        expect((e as Error).message).not.toContain(input.slice(16, 40));
        expect((e as Error).message.toLowerCase()).not.toContain('gfpyysjz');
      }
    }
  });

  it('tries every identity against every X25519 stanza', async () => {
    const [a, b, c] = [generateIdentity(), generateIdentity(), generateIdentity()];
    const file = await seal([a.recipient, b.recipient], Buffer.from('for a or b'));
    expect((await decryptToBuffer([c.identity, b.identity], file)).toString()).toBe('for a or b');
    expect((await decryptToBuffer([a.identity], file)).toString()).toBe('for a or b');
    await expectThrowsCode(() => decryptToBuffer([c.identity], file), 'age_no_matching_identity');
  });

  it('refuses to encrypt to a low-order recipient (all-zero shared secret)', async () => {
    const { bech32 } = await import('@scure/base');
    const zero = bech32.encode('age', bech32.toWords(new Uint8Array(32)), false);
    await expectThrowsCode(() => seal([zero], Buffer.from('x')), 'invalid_recipient');
  });
});
