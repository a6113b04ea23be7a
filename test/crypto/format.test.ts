/**
 * The age header codec (src/crypto/age/format.ts): canonical round trips and the strict
 * rejections the age spec asks for (https://age-encryption.org/v1, "Header"), plus
 * inspectHeader and checkHeader on real files.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBase64,
  encodeBase64,
  encodeHeader,
  parseHeader,
  scanHeader,
  type Stanza,
} from '../../src/crypto/age/format.ts';
import { checkHeader, generateIdentity, inspectHeader } from '../../src/crypto/index.ts';
import { expectThrowsCode, seal } from './helpers.ts';

const MAC = 'A'.repeat(43); // 32 zero bytes
const header = (...lines: string[]): Buffer => Buffer.from(`${lines.join('\n')}\n`, 'latin1');

describe('base64 without padding', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).not.toContain('=');
        expect(decodeBase64(text).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it.each([
    ['padding', 'AA=='],
    ['a non-alphabet byte', 'AA-A'],
    ['url-safe alphabet', 'A_'],
    ['whitespace', 'AA A'],
    ['an impossible length', 'AAAAA'],
    ['non-canonical trailing bits', 'AB'],
  ])('rejects %s', async (_name, text) => {
    await expectThrowsCode(() => decodeBase64(text), 'age_header_invalid');
  });
});

describe('header', () => {
  const arb = fc.array(
    fc.record({
      type: fc.stringMatching(/^[\x21-\x7e]{1,12}$/),
      args: fc.array(fc.stringMatching(/^[\x21-\x7e]{1,12}$/), { maxLength: 3 }),
      body: fc.uint8Array({ maxLength: 150 }),
    }),
    { minLength: 1, maxLength: 4 },
  );

  it('encodes canonically and parses back (bodies of 0, 48, 96 … bytes end with an empty line)', () => {
    fc.assert(
      fc.property(arb, fc.uint8Array({ minLength: 32, maxLength: 32 }), (stanzas: Stanza[], mac) => {
        const bytes = encodeHeader(stanzas, mac);
        const parsed = parseHeader(Buffer.concat([bytes, Buffer.from('payload')]));
        expect(parsed.headerBytes).toBe(bytes.length);
        expect(parsed.mac.equals(Buffer.from(mac))).toBe(true);
        expect(parsed.stanzas.map((s) => ({ ...s, body: Buffer.from(s.body) }))).toEqual(
          stanzas.map((s) => ({ ...s, body: Buffer.from(s.body) })),
        );
        expect(encodeHeader(parsed.stanzas, parsed.mac).equals(bytes)).toBe(true);
        expect(parsed.macInput.toString('latin1').endsWith('\n---')).toBe(true);
      }),
    );
  });

  it('parses a 48-byte body followed by its empty line', () => {
    const body = encodeBase64(Buffer.alloc(48, 1));
    const parsed = parseHeader(header('age-encryption.org/v1', '-> t a', body, '', `--- ${MAC}`));
    expect(parsed.stanzas[0]?.body.length).toBe(48);
  });

  it.each([
    ['another version', header('age-encryption.org/v2', '-> t', '', `--- ${MAC}`)],
    ['a missing version line', header('-> t', '', `--- ${MAC}`)],
    ['a stanza line without arrow', header('age-encryption.org/v1', '->t', '', `--- ${MAC}`)],
    ['a stanza without arguments', header('age-encryption.org/v1', '-> ', '', `--- ${MAC}`)],
    ['an empty argument', header('age-encryption.org/v1', '-> t  a', '', `--- ${MAC}`)],
    [
      'a body line over 64 columns',
      header('age-encryption.org/v1', '-> t', 'A'.repeat(68), '', `--- ${MAC}`),
    ],
    ['a full last body line', header('age-encryption.org/v1', '-> t', 'A'.repeat(64), `--- ${MAC}`)],
    ['a missing body', header('age-encryption.org/v1', '-> t', `--- ${MAC}`)],
    ['two short body lines', header('age-encryption.org/v1', '-> t', 'AAAA', 'AAAA', `--- ${MAC}`)],
    ['padded body base64', header('age-encryption.org/v1', '-> t', 'AA==', `--- ${MAC}`)],
    ['a CR', header('age-encryption.org/v1\r', '-> t', '', `--- ${MAC}`)],
    ['a CR in a stanza', header('age-encryption.org/v1', '-> t\r', '', `--- ${MAC}`)],
    ['a non-ASCII byte', header('age-encryption.org/v1', '-> t\u00e9', '', `--- ${MAC}`)],
    ['a MAC without space', header('age-encryption.org/v1', '-> t', '', `---${MAC}`)],
    ['a MAC with two spaces', header('age-encryption.org/v1', '-> t', '', `---  ${MAC}`)],
    ['a short MAC', header('age-encryption.org/v1', '-> t', '', `--- ${MAC.slice(1)}`)],
    ['a MAC with a trailing space', header('age-encryption.org/v1', '-> t', '', `--- ${MAC} `)],
    ['a non-canonical MAC', header('age-encryption.org/v1', '-> t', '', `--- ${MAC.slice(0, 42)}B`)],
    ['no stanza line at all', header('age-encryption.org/v1', `--- ${MAC}`)],
    ['not an age file', Buffer.from('hello world, this is not age\n')],
    [
      'an armored file',
      header('-----BEGIN AGE ENCRYPTED FILE-----', 'YWdl', '-----END AGE ENCRYPTED FILE-----'),
    ],
    ['an empty input', Buffer.alloc(0)],
  ])('rejects %s', async (_name, bytes) => {
    // "no stanza line at all" parses, but checkHeader refuses it; all others fail to parse.
    await expectThrowsCode(() => checkHeader([generateIdentity().identity], bytes), 'age_header_invalid');
  });

  it('reports a header cut short as truncated, and waits for more bytes while streaming', async () => {
    const full = header('age-encryption.org/v1', '-> t', '', `--- ${MAC}`);
    for (const n of [1, 10, 25, full.length - 1]) {
      expect(scanHeader(full.subarray(0, n), false)).toBe(-1);
      await expectThrowsCode(() => parseHeader(full.subarray(0, n)), 'age_truncated');
    }
    expect(scanHeader(full, false)).toBe(full.length);
  });

  it('refuses a header larger than 1 MiB', async () => {
    const big = Buffer.concat([header('age-encryption.org/v1', '-> t'), Buffer.alloc(1024 * 1024, 'A')]);
    await expectThrowsCode(() => scanHeader(big, false), 'age_header_invalid');
  });
});

describe('inspectHeader and checkHeader', () => {
  it('lists the stanzas of a sealed file without a key and checks it with one', async () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const file = await seal([a.recipient, b.recipient], Buffer.from('rows'));
    const info = inspectHeader(file);
    expect(info.stanzas.map((s) => s.type)).toEqual(['X25519', 'X25519']);
    expect(info.stanzas[0]?.args).toHaveLength(1);
    expect(file.subarray(info.headerBytes - 48, info.headerBytes).toString('latin1')).toMatch(
      /^--- [A-Za-z0-9+/]{43}\n$/,
    );
    // The header alone is enough for both.
    const headerOnly = file.subarray(0, info.headerBytes);
    expect(inspectHeader(headerOnly).headerBytes).toBe(info.headerBytes);
    expect(() => checkHeader([b.identity], headerOnly)).not.toThrow();
    await expectThrowsCode(
      () => checkHeader([generateIdentity().identity], headerOnly),
      'age_no_matching_identity',
    );
    const tampered = Buffer.from(file);
    tampered[30] = (tampered[30] as number) ^ 1; // first stanza's type becomes "X25518"
    await expectThrowsCode(() => checkHeader([a.identity, b.identity], tampered), 'age_header_mac');
  });
});
