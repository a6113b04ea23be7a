/**
 * Binary SHA-256 Merkle tree used to anchor many records under one on-chain root.
 *
 * Hashes are 32 bytes written as 64 lower-case hex characters (no `0x`).
 * Domain separation (as in RFC 6962), so a leaf can never pass for an inner node:
 *   leaf  = SHA-256(0x00 || leaf data)          (see `merkleLeaf`; records.ts feeds it)
 *   node  = SHA-256(0x01 || left || right)
 * The tree is built over *leaf hashes* level by level, pairing neighbours left to right.
 * An odd node at the end of a level is PROMOTED unchanged to the next level (never
 * duplicated), so no two different leaf lists share a root by duplication
 * (the CVE-2012-2459 ambiguity of Bitcoin's tree). A one-leaf tree's root is the leaf hash.
 *
 * A proof lists sibling hashes bottom-up. Which side each sibling is on, and which levels
 * have no sibling (promotion), follow from `leafIndex` and `leafCount`, so the proof carries
 * them and the verifier recomputes the path shape instead of trusting direction flags.
 */
import { createHash } from 'node:crypto';
import { ObscuraError } from '../common/errors.ts';

/** An inclusion proof: the leaf's position, the number of leaves, the bottom-up siblings. */
export interface MerkleProof {
  leafIndex: number;
  leafCount: number;
  siblings: string[];
}

const HEX32 = /^[0-9a-f]{64}$/;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** True when `s` is 64 lower-case hex characters (a 32-byte hash in this module's format). */
export function isHash32Hex(s: unknown): s is string {
  return typeof s === 'string' && HEX32.test(s);
}

/** Leaf hash SHA-256(0x00 || data) of arbitrary leaf data, as 64 hex. */
export function merkleLeaf(data: Uint8Array): string {
  return createHash('sha256').update(Uint8Array.of(LEAF_PREFIX)).update(data).digest('hex');
}

/** Inner node hash SHA-256(0x01 || left || right) of two 64-hex hashes. */
export function merkleNode(left: string, right: string): string {
  return createHash('sha256')
    .update(Uint8Array.of(NODE_PREFIX))
    .update(Buffer.from(left, 'hex'))
    .update(Buffer.from(right, 'hex'))
    .digest('hex');
}

function checkLeaves(leaves: readonly string[]): void {
  if (leaves.length === 0)
    throw new ObscuraError('merkle_empty', 'a Merkle tree needs at least one leaf', 400);
  if (leaves.length > 0xffffffff) throw new ObscuraError('merkle_invalid', 'too many Merkle leaves', 400);
  leaves.forEach((leaf, i) => {
    if (!isHash32Hex(leaf)) {
      throw new ObscuraError(
        'merkle_invalid',
        `Merkle leaf ${i} is not a 64-character lower-case hex hash`,
        400,
      );
    }
  });
}

function nextLevel(level: readonly string[]): string[] {
  const up: string[] = [];
  for (let i = 0; i + 1 < level.length; i += 2)
    up.push(merkleNode(level[i] as string, level[i + 1] as string));
  if (level.length % 2 === 1) up.push(level[level.length - 1] as string);
  return up;
}

/** Root of the tree over `leaves` (leaf hashes, 64 hex). Throws 'merkle_empty' / 'merkle_invalid'. */
export function merkleRoot(leaves: readonly string[]): string {
  checkLeaves(leaves);
  let level: readonly string[] = leaves;
  while (level.length > 1) level = nextLevel(level);
  return level[0] as string;
}

/** Inclusion proof for `leaves[index]`. Throws 'merkle_empty' / 'merkle_invalid' (bad leaf or index). */
export function merkleProof(leaves: readonly string[], index: number): MerkleProof {
  checkLeaves(leaves);
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new ObscuraError('merkle_invalid', `leaf index ${index} is outside 0..${leaves.length - 1}`, 400);
  }
  const siblings: string[] = [];
  let level: readonly string[] = leaves;
  let i = index;
  while (level.length > 1) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < level.length) siblings.push(level[sibling] as string);
    level = nextLevel(level);
    i = Math.floor(i / 2);
  }
  return { leafIndex: index, leafCount: leaves.length, siblings };
}

/** Root that `leaf` and `proof` lead to, or null when the proof is malformed for its index/count. */
export function rootFromProof(leaf: string, proof: MerkleProof): string | null {
  const { leafIndex, leafCount, siblings } = proof;
  if (!isHash32Hex(leaf) || !Array.isArray(siblings)) return null;
  if (!Number.isSafeInteger(leafCount) || leafCount < 1 || leafCount > 0xffffffff) return null;
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= leafCount) return null;
  let hash = leaf;
  let i = leafIndex;
  let width = leafCount;
  let used = 0;
  while (width > 1) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < width) {
      const s = siblings[used++];
      if (!isHash32Hex(s)) return null;
      hash = i % 2 === 0 ? merkleNode(hash, s) : merkleNode(s, hash);
    }
    i = Math.floor(i / 2);
    width = Math.ceil(width / 2);
  }
  return used === siblings.length ? hash : null;
}

/** True when `proof` shows `leaf` under `root`. Never throws: malformed input is simply false. */
export function verifyMerkleProof(leaf: string, proof: MerkleProof, root: string): boolean {
  if (!isHash32Hex(root) || proof === null || typeof proof !== 'object') return false;
  return rootFromProof(leaf, proof) === root;
}
