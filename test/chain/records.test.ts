/**
 * Record and remark-payload encodings: known vectors, round trips (property-based), and
 * refusal of malformed payloads; receipt schema refusals for untrusted JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANCHOR_KINDS,
  AnchorReceiptSchema,
  decodeRecord,
  decodeRemark,
  encodeRecord,
  encodeRemark,
  encodeRemarkHex,
  recordLeaf,
} from '../../src/chain/index.ts';

const SHA_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const ROOT = '1d8f52d3ec81ac02cd97cb3281523be47af850c0f0295af866f04bc245f46bbf';
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('record encoding', () => {
  it('has the documented layout and leaf hash', () => {
    expect(hex(encodeRecord({ kind: 'result', hash: SHA_ABC }))).toBe(`0101${SHA_ABC}`);
    expect(hex(encodeRecord({ kind: 'budget', hash: SHA_ABC }))).toBe(`0104${SHA_ABC}`);
    // Computed independently: sha256(0x00 || 0x01 || kind || hash).
    expect(recordLeaf({ kind: 'result', hash: SHA_ABC })).toBe(
      'a4f809d9e5aa4331a20de780faffe8f8d63c244e97ca5372f5453722e7d248f0',
    );
    expect(recordLeaf({ kind: 'budget', hash: SHA_ABC })).toBe(
      'e6cc728ee415b535f1e33287d7157ba37a7becf0e0b986b35d6c43c78b2f6b07',
    );
  });

  it('round-trips every kind and hash', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ANCHOR_KINDS), hash32, (kind, hash) => {
        const bytes = encodeRecord({ kind, hash });
        expect(decodeRecord(bytes)).toEqual({ kind, hash });
        expect(decodeRecord(`0x${hex(bytes)}`)).toEqual({ kind, hash });
      }),
    );
  });

  it('refuses invalid records and malformed encodings', () => {
    const bad = (r: unknown) => () => encodeRecord(r as never);
    expect(bad({ kind: 'model', hash: SHA_ABC })).toThrow(
      expect.objectContaining({ code: 'record_invalid' }),
    );
    expect(bad({ kind: 'result', hash: SHA_ABC.toUpperCase() })).toThrow(
      expect.objectContaining({ code: 'record_invalid' }),
    );
    expect(bad({ kind: 'result', hash: SHA_ABC.slice(2) })).toThrow(
      expect.objectContaining({ code: 'record_invalid' }),
    );
    expect(bad({ kind: 'result', hash: SHA_ABC, extra: 1 })).toThrow(
      expect.objectContaining({ code: 'record_invalid' }),
    );
    const code = { code: 'record_malformed' };
    expect(() => decodeRecord(`0101${SHA_ABC}00`)).toThrow(expect.objectContaining(code));
    expect(() => decodeRecord(`0201${SHA_ABC}`)).toThrow(expect.objectContaining(code));
    expect(() => decodeRecord(`0105${SHA_ABC}`)).toThrow(expect.objectContaining(code));
    expect(() => decodeRecord(`0100${SHA_ABC}`)).toThrow(expect.objectContaining(code));
    expect(() => decodeRecord('0x0g')).toThrow(expect.objectContaining(code));
  });
});

describe('remark payload', () => {
  it('has the documented 40-byte layout', () => {
    const bytes = encodeRemark({ recordCount: 3, root: ROOT });
    expect(bytes.length).toBe(40);
    expect(hex(bytes)).toBe(`4f42530100000003${ROOT}`);
    expect(encodeRemarkHex({ recordCount: 3, root: ROOT })).toBe(`0x4f42530100000003${ROOT}`);
    expect(hex(encodeRemark({ recordCount: 0xffffffff, root: ROOT })).slice(8, 16)).toBe('ffffffff');
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), hash32, (recordCount, root) => {
        expect(decodeRemark(encodeRemark({ recordCount, root }))).toEqual({ recordCount, root });
        expect(decodeRemark(encodeRemarkHex({ recordCount, root }))).toEqual({ recordCount, root });
      }),
    );
  });

  it('refuses malformed payloads', () => {
    const good = `4f42530100000003${ROOT}`;
    const code = { code: 'remark_malformed' };
    expect(() => decodeRemark(good.slice(0, -2))).toThrow(expect.objectContaining(code)); // short
    expect(() => decodeRemark(`${good}00`)).toThrow(expect.objectContaining(code)); // long
    expect(() => decodeRemark(`4f42540100000003${ROOT}`)).toThrow(expect.objectContaining(code)); // magic "OBT"
    expect(() => decodeRemark(`4f42530200000003${ROOT}`)).toThrow(expect.objectContaining(code)); // version 2
    expect(() => decodeRemark(`4f42530100000000${ROOT}`)).toThrow(expect.objectContaining(code)); // zero records
    expect(() => decodeRemark('')).toThrow(expect.objectContaining(code));
    expect(() => decodeRemark('hello world')).toThrow(expect.objectContaining(code));
    expect(() => decodeRemark(new Uint8Array(40))).toThrow(expect.objectContaining(code));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const looksValid =
          bytes.length === 40 && hex(bytes).startsWith('4f425301') && hex(bytes).slice(8, 16) !== '00000000';
        if (looksValid) expect(decodeRemark(bytes).root).toBe(hex(bytes.subarray(8)));
        else expect(() => decodeRemark(bytes)).toThrow(expect.objectContaining(code));
      }),
    );
  });

  it('refuses to encode a bad count or root', () => {
    const code = { code: 'remark_invalid' };
    expect(() => encodeRemark({ recordCount: 0, root: ROOT })).toThrow(expect.objectContaining(code));
    expect(() => encodeRemark({ recordCount: 2 ** 32, root: ROOT })).toThrow(expect.objectContaining(code));
    expect(() => encodeRemark({ recordCount: 1.5, root: ROOT })).toThrow(expect.objectContaining(code));
    expect(() => encodeRemark({ recordCount: 1, root: `0x${ROOT}` })).toThrow(expect.objectContaining(code));
  });
});

describe('AnchorReceiptSchema', () => {
  const receipt = {
    chain: {
      genesisHash: `0x${'45'.repeat(32)}`,
      block1Hash: `0x${'ab'.repeat(32)}`,
      chainName: 'Obscura Local',
      specName: 'statemine',
      specVersion: 900,
      ss58Prefix: 2,
    },
    blockHash: `0x${'cd'.repeat(32)}`,
    blockNumber: 2,
    extrinsicIndex: 2,
    signer: 'HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F',
    root: ROOT,
    leafIndex: 1,
    proof: [SHA_ABC],
    recordCount: 2,
  };

  it('parses a receipt from JSON and refuses tampered shapes', () => {
    expect(AnchorReceiptSchema.parse(JSON.parse(JSON.stringify(receipt)))).toEqual(receipt);
    const bad = (patch: Record<string, unknown>) =>
      AnchorReceiptSchema.safeParse({ ...receipt, ...patch }).success;
    expect(bad({ leafIndex: 2 })).toBe(false);
    expect(bad({ blockNumber: 0 })).toBe(false);
    expect(bad({ blockHash: 'cd'.repeat(32) })).toBe(false);
    expect(bad({ root: `0x${ROOT}` })).toBe(false);
    expect(bad({ proof: ['zz'] })).toBe(false);
    expect(bad({ proof: Array(33).fill(ROOT) })).toBe(false);
    expect(bad({ chain: { ...receipt.chain, block1Hash: undefined } })).toBe(false);
    expect(AnchorReceiptSchema.safeParse(null).success).toBe(false);
  });
});
