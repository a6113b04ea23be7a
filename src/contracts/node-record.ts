/**
 * A node record: what an Obscura node (one organisation's API host and its enclave workers)
 * says of itself on the chain, so that nodes run by other organisations can find it and
 * check whom they talk to. Shared by hosts (which publish and read records) and verifiers.
 *
 * The record is signed twice by the node's operator account (sr25519): inside, over the
 * canonical JSON (so it can be checked off-chain, e.g. when a peer hands it over), and as
 * the signer of the `system.remarkWithEvent` that carries it (so the chain binds it to the
 * operator key). A reader accepts a record only when both name the same account, and only
 * until `issuedAt + ttlMs`: after that the record is stale and the node is treated as gone
 * until it publishes again (nodes refresh well before, see src/host/federation/registry.ts).
 *
 * The URL in a record is bound to the operator key: node-to-node requests are signed with
 * that key, and a request is accepted only from the operator of a fresh record.
 *
 * On chain (src/chain/node-remark.ts) the remark is `"OBN"`, version byte 0x01, then the
 * UTF-8 JSON of the signed record.
 */
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../common/hash.ts';
import { isValidAddress, verifyAccountSignature } from '../crypto/keys.ts';

/** Version of the node record format. */
export const NODE_RECORD_VERSION = 1;
/** Shortest and longest life a record may claim (one minute, one week). */
export const NODE_RECORD_TTL = { min: 60_000, max: 7 * 24 * 3_600_000, default: 3_600_000 } as const;

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters');

/** One enclave worker of a node, as its record lists it. */
export const NodeWorkerSchema = z.strictObject({
  id: z.string().min(1).max(64),
  tee: z.string().min(1).max(32),
  simulated: z.boolean(),
  /** The measurement of the code the worker runs (what peers decide to accept). */
  measurement: hex32,
  /** age recipient owners seal to, bound into the worker's attestation. */
  recipient: z.string().startsWith('age1').max(2048),
  /** Ed25519 key that signs the worker's results and federation messages. */
  signingKey: hex32,
});
/** One worker of a node record. */
export type NodeWorker = z.infer<typeof NodeWorkerSchema>;

/** A node record (unsigned part). */
export const NodeRecordSchema = z.strictObject({
  version: z.literal(NODE_RECORD_VERSION),
  /** The operator account (SS58, prefix 42) that signs the record, its remark and the node's requests. */
  operator: z.string().refine(isValidAddress, 'expected an SS58 address with prefix 42'),
  /** The node's API base URL, as other nodes reach it. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(512)
    .refine((u) => !u.endsWith('/'), 'no trailing slash'),
  /** The chain the record is meant for: a record copied to another chain does not verify. */
  chain: z.strictObject({
    genesisHash: z.string().regex(/^0x[0-9a-f]{64}$/),
    block1Hash: z.string().regex(/^0x[0-9a-f]{64}$/),
  }),
  /** When the record was made (ms since the epoch) and how long it holds. */
  issuedAt: z.number().int().nonnegative(),
  ttlMs: z.number().int().min(NODE_RECORD_TTL.min).max(NODE_RECORD_TTL.max),
  workers: z.array(NodeWorkerSchema).min(1).max(16),
  /**
   * SHA-256 of the canonical JSON of the workers' evidence for the nonce
   * `nodeRecordNonce(operator, issuedAt)`: what the node's enclaves attested when it
   * published. Peers still ask for fresh evidence (their own nonce) before trusting a worker.
   */
  attestationDigest: hex32,
});
/** A node record (unsigned part). */
export type NodeRecord = z.infer<typeof NodeRecordSchema>;

/** A node record with the operator's sr25519 signature of `nodeRecordSigningBytes(record)`. */
export const SignedNodeRecordSchema = z.strictObject({
  record: NodeRecordSchema,
  signature: z.string().regex(/^0x[0-9a-f]{128}$/),
});
/** A signed node record. */
export type SignedNodeRecord = z.infer<typeof SignedNodeRecordSchema>;

/** The bytes the operator signs: a domain tag and the record's canonical JSON. */
export function nodeRecordSigningBytes(record: NodeRecord): Uint8Array {
  return new TextEncoder().encode(`obscura-node-record/1\n${canonicalJson(record)}`);
}

/** The nonce a node's workers attest for when it publishes a record (deterministic, so anyone can recompute the digest). */
export function nodeRecordNonce(operator: string, issuedAt: number): string {
  return sha256Hex(`obscura-node-record-nonce/1\n${operator}\n${issuedAt}`);
}

/** Why a record is not accepted: stable codes. */
export type NodeRecordProblem =
  | 'malformed'
  | 'signature_invalid'
  | 'signer_mismatch'
  | 'wrong_chain'
  | 'stale'
  | 'from_the_future';

/** How far ahead of the reader's clock a record's `issuedAt` may be. */
export const NODE_RECORD_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Check a signed record (untrusted JSON): its schema, the operator's signature, that the
 * remark's signer (when known) is the record's operator, the chain, and its freshness at
 * `now`. Returns the record, or the first problem. Never throws.
 */
export function checkNodeRecord(
  input: unknown,
  expect: { now: number; chain: NodeRecord['chain']; remarkSigner?: string },
): { ok: true; record: NodeRecord } | { ok: false; problem: NodeRecordProblem; record?: NodeRecord } {
  const parsed = SignedNodeRecordSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problem: 'malformed' };
  const { record, signature } = parsed.data;
  if (!verifyAccountSignature(record.operator, nodeRecordSigningBytes(record), signature))
    return { ok: false, problem: 'signature_invalid', record };
  if (expect.remarkSigner !== undefined && expect.remarkSigner !== record.operator)
    return { ok: false, problem: 'signer_mismatch', record };
  if (
    record.chain.genesisHash !== expect.chain.genesisHash ||
    record.chain.block1Hash !== expect.chain.block1Hash
  )
    return { ok: false, problem: 'wrong_chain', record };
  if (record.issuedAt > expect.now + NODE_RECORD_CLOCK_SKEW_MS)
    return { ok: false, problem: 'from_the_future', record };
  if (record.issuedAt + record.ttlMs <= expect.now) return { ok: false, problem: 'stale', record };
  return { ok: true, record };
}

/** A node as `GET /v1/nodes` lists it: its newest record and whether each worker attests now. */
export const NodeStatusSchema = z.object({
  operator: z.string(),
  url: z.string(),
  /** True for the node that answers. */
  self: z.boolean(),
  /** `fresh` until `expiresAt`, `stale` after (a stale node is refused as a peer). */
  status: z.enum(['fresh', 'stale']),
  issuedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  /** The block whose remark carried the record. */
  blockNumber: z.number().int(),
  attestationDigest: z.string(),
  workers: z.array(
    NodeWorkerSchema.extend({
      /** Fresh evidence (the answering node's own nonce) checked against the record's keys and the measurements the answering node accepts. */
      attestation: z.object({ ok: z.boolean(), detail: z.string() }),
    }),
  ),
});
/** A node as the API lists it. */
export type NodeStatus = z.infer<typeof NodeStatusSchema>;
