/**
 * zod schemas (and their derived types) for everything that crosses the chain boundary:
 * a chain's identity, the anchor receipt embedded in results and parsed by verifiers from
 * untrusted JSON, and the outcome of an anchor check.
 *
 * Formats: chain hashes (genesis, blocks) are `0x` + 64 lower-case hex, as Substrate writes
 * them; Merkle hashes (root, proof) are 64 lower-case hex without `0x`, as records are.
 */
import { z } from 'zod';
import { Hash32HexSchema } from './records.ts';

/** Default chain name (`system_chain`) of the embedded chain. */
export const EMBEDDED_CHAIN_NAME = 'Obscura Local';

/** A Substrate 32-byte hash: `0x` + 64 lower-case hex. */
export const ChainHashSchema = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, 'expected 0x + 64 lower-case hex characters');

/**
 * Which chain an anchor lives on. `genesisHash` alone cannot tell two embedded (chopsticks
 * genesis-mode) chains apart, since it is a fixed placeholder there; `block1Hash` can.
 */
export const ChainIdentitySchema = z.object({
  genesisHash: ChainHashSchema,
  block1Hash: ChainHashSchema,
  chainName: z.string().min(1).max(256),
  specName: z.string().min(1).max(256),
  specVersion: z.number().int().nonnegative(),
  ss58Prefix: z.number().int().min(0).max(16383),
});
/** A chain's identity (see ChainIdentitySchema). */
export type ChainIdentity = z.infer<typeof ChainIdentitySchema>;

/**
 * Proof that one record was anchored: the block and extrinsic holding the remark, the
 * Merkle root it carries, and this record's leaf position and inclusion proof (siblings
 * bottom-up; their sides follow from leafIndex and recordCount, see merkle.ts).
 */
export const AnchorReceiptSchema = z
  .object({
    chain: ChainIdentitySchema,
    blockHash: ChainHashSchema,
    blockNumber: z.number().int().min(1).max(0xffffffff),
    extrinsicIndex: z.number().int().min(0).max(0xffff),
    signer: z.string().min(1).max(64),
    root: Hash32HexSchema,
    leafIndex: z.number().int().min(0),
    proof: z.array(Hash32HexSchema).max(32),
    recordCount: z.number().int().min(1).max(0xffffffff),
  })
  .refine((r) => r.leafIndex < r.recordCount, {
    message: 'leafIndex must be below recordCount',
    path: ['leafIndex'],
  });
/** An anchor receipt (see AnchorReceiptSchema). */
export type AnchorReceipt = z.infer<typeof AnchorReceiptSchema>;

/** Names of the checks verifyAnchor runs, in order. */
export const ANCHOR_CHECK_NAMES = [
  'receipt',
  'chain',
  'block',
  'canonical',
  'extrinsic',
  'signer',
  'remark',
  'merkle',
  'event',
] as const;
/** One of the check names. */
export type AnchorCheckName = (typeof ANCHOR_CHECK_NAMES)[number];

/** One named check and its outcome. */
export const AnchorCheckItemSchema = z.object({
  name: z.enum(ANCHOR_CHECK_NAMES),
  ok: z.boolean(),
  detail: z.string(),
});
/** The outcome of verifying one record against its receipt: ok only when every check passed. */
export const AnchorCheckSchema = z.object({
  ok: z.boolean(),
  checks: z.array(AnchorCheckItemSchema),
});
/** One named check (see AnchorCheckItemSchema). */
export type AnchorCheckItem = z.infer<typeof AnchorCheckItemSchema>;
/** A verification outcome (see AnchorCheckSchema). */
export type AnchorCheck = z.infer<typeof AnchorCheckSchema>;
