/**
 * Merkle tree: hand-computed vectors for 1, 2 and 3 leaves, proof shapes under odd-node
 * promotion, rejection of malformed input, and property-based round trips / tamper checks.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  merkleLeaf,
  merkleNode,
  merkleProof,
  merkleRoot,
  rootFromProof,
  verifyMerkleProof,
} from '../../src/chain/merkle.ts';

const A = '11'.repeat(32);
const B = '22'.repeat(32);
const C = '33'.repeat(32);
// Computed independently (Python hashlib): sha256(0x01 || left || right).
const AB = '1d8f52d3ec81ac02cd97cb3281523be47af850c0f0295af866f04bc245f46bbf';
const ABC = 'adc505e99f1e9887777a6aa5d140106fcc012a2e4430875f3c2e135124145842';

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const leafLists = fc.array(hash32, { minLength: 1, maxLength: 70 });

describe('merkle vectors', () => {
  it('1 leaf: the root is the leaf itself, the proof is empty', () => {
    expect(merkleRoot([A])).toBe(A);
    expect(merkleProof([A], 0)).toEqual({ leafIndex: 0, leafCount: 1, siblings: [] });
    expect(verifyMerkleProof(A, merkleProof([A], 0), A)).toBe(true);
  });

  it('2 leaves: sha256(0x01 || a || b)', () => {
    expect(merkleNode(A, B)).toBe(AB);
    expect(merkleRoot([A, B])).toBe(AB);
    expect(merkleProof([A, B], 0).siblings).toEqual([B]);
    expect(merkleProof([A, B], 1).siblings).toEqual([A]);
    expect(merkleRoot([B, A])).toBe('4d407e7ac6aff1cd1d99ecb1ec91ac3697c8b1d355c4938754e9edc69ba04961');
  });

  it('3 leaves: the odd leaf is promoted, not duplicated', () => {
    expect(merkleRoot([A, B, C])).toBe(ABC);
    expect(merkleRoot([A, B, C])).not.toBe(merkleRoot([A, B, C, C]));
    expect(merkleProof([A, B, C], 2).siblings).toEqual([AB]);
    expect(merkleProof([A, B, C], 0).siblings).toEqual([B, C]);
    for (let i = 0; i < 3; i++)
      expect(verifyMerkleProof([A, B, C][i] as string, merkleProof([A, B, C], i), ABC)).toBe(true);
  });

  it('leaf hashing is domain-separated from nodes', () => {
    const data = Buffer.from('abc');
    expect(merkleLeaf(data)).toBe(
      createHash('sha256')
        .update(Buffer.concat([Buffer.of(0), data]))
        .digest('hex'),
    );
    // A two-leaf root cannot be presented as a leaf of a one-leaf tree with the same hash input.
    expect(merkleLeaf(Buffer.from(A + B, 'hex'))).not.toBe(AB);
  });
});

describe('merkle input checks', () => {
  it('refuses empty and malformed leaves and bad indices', () => {
    expect(() => merkleRoot([])).toThrow(expect.objectContaining({ code: 'merkle_empty' }));
    expect(() => merkleRoot(['AB'.repeat(32)])).toThrow(expect.objectContaining({ code: 'merkle_invalid' }));
    expect(() => merkleRoot(['11'])).toThrow(expect.objectContaining({ code: 'merkle_invalid' }));
    expect(() => merkleProof([A, B], 2)).toThrow(expect.objectContaining({ code: 'merkle_invalid' }));
    expect(() => merkleProof([A, B], -1)).toThrow(expect.objectContaining({ code: 'merkle_invalid' }));
    expect(() => merkleProof([A, B], 0.5)).toThrow(expect.objectContaining({ code: 'merkle_invalid' }));
  });

  it('verify never throws on garbage and refuses wrong shapes', () => {
    const p = merkleProof([A, B, C], 0);
    expect(verifyMerkleProof(A, { ...p, siblings: [...p.siblings, C] }, ABC)).toBe(false); // extra sibling
    expect(verifyMerkleProof(A, { ...p, siblings: [B] }, ABC)).toBe(false); // missing sibling
    expect(verifyMerkleProof(A, { ...p, leafIndex: 3 }, ABC)).toBe(false);
    expect(verifyMerkleProof(A, { ...p, leafCount: 0 }, ABC)).toBe(false);
    expect(verifyMerkleProof(A, { ...p, siblings: ['zz'] }, ABC)).toBe(false);
    expect(verifyMerkleProof(A, p, 'nothex')).toBe(false);
    expect(verifyMerkleProof('x', p, ABC)).toBe(false);
    expect(verifyMerkleProof(A, null as never, ABC)).toBe(false);
    expect(verifyMerkleProof(A, { leafIndex: 0, leafCount: 3, siblings: null } as never, ABC)).toBe(false);
    expect(rootFromProof(A, p)).toBe(ABC);
  });
});

describe('merkle properties', () => {
  it('every leaf proves against the root', () => {
    fc.assert(
      fc.property(leafLists, fc.nat(), (leaves, k) => {
        const i = k % leaves.length;
        const root = merkleRoot(leaves);
        const proof = merkleProof(leaves, i);
        expect(proof.siblings.length).toBeLessThanOrEqual(Math.ceil(Math.log2(leaves.length)));
        return verifyMerkleProof(leaves[i] as string, proof, root);
      }),
      { numRuns: 200 },
    );
  });

  it('a different leaf, index, count or a flipped sibling fails', () => {
    fc.assert(
      fc.property(leafLists, fc.nat(), hash32, fc.nat(), (leaves, k, other, bit) => {
        const i = k % leaves.length;
        const root = merkleRoot(leaves);
        const proof = merkleProof(leaves, i);
        const leaf = leaves[i] as string;
        if (other !== leaf) expect(verifyMerkleProof(other, proof, root)).toBe(false);
        if (proof.siblings.length > 0) {
          const j = bit % proof.siblings.length;
          const s = Buffer.from(proof.siblings[j] as string, 'hex');
          s[bit % 32] = (s[bit % 32] as number) ^ (1 << (bit % 8));
          const siblings = proof.siblings.map((x, n) => (n === j ? s.toString('hex') : x));
          expect(verifyMerkleProof(leaf, { ...proof, siblings }, root)).toBe(false);
        }
        for (const j of [i + 1, i - 1]) {
          if (j >= 0 && j < leaves.length && leaves[j] !== leaf) {
            expect(verifyMerkleProof(leaf, { ...proof, leafIndex: j }, root)).toBe(false);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the root changes when any leaf changes, is added or is reordered', () => {
    fc.assert(
      fc.property(leafLists, fc.nat(), hash32, (leaves, k, other) => {
        const i = k % leaves.length;
        const root = merkleRoot(leaves);
        if (other !== leaves[i])
          expect(merkleRoot(leaves.map((l, n) => (n === i ? other : l)))).not.toBe(root);
        expect(merkleRoot([...leaves, other])).not.toBe(root);
        if (leaves.length > 1 && leaves[0] !== leaves[1]) {
          expect(merkleRoot([leaves[1] as string, leaves[0] as string, ...leaves.slice(2)])).not.toBe(root);
        }
      }),
      { numRuns: 200 },
    );
  });
});
