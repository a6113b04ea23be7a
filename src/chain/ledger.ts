/**
 * Ledger heads: how an enclave's privacy-budget ledger is pinned to the chain so that a host
 * which restores an old copy of the enclave's sealed state is caught (rollback protection).
 *
 * Unlike the Merkle-batched anchors (records.ts), whose remarks carry an opaque root, a
 * ledger head names its worker and sequence number in the clear: an enclave must be able to
 * *find* its newest head by scanning blocks, without being told where it is by the untrusted
 * host. Each entry of the ledger (a budget spend, a policy update) gets the next sequence
 * number; the enclave refuses to spend when the chain holds a head with a higher number than
 * its own state knows.
 *
 * Remark payload, version 2 (76 bytes, integers big-endian):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 3 | magic `"OBS"` |
 * | 3 | 1 | payload format version = `0x02` (ledger head) |
 * | 4 | 32 | the worker's Ed25519 result-signing public key |
 * | 36 | 8 | sequence number, u64, at least 1 |
 * | 44 | 32 | SHA-256 of the ledger entry (its JCS form) |
 */
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { REMARK_MAGIC } from './records.ts';

/** Version byte of a ledger-head remark. */
export const LEDGER_REMARK_VERSION = 2;
/** Length in bytes of a ledger-head remark. */
export const LEDGER_REMARK_LENGTH = 76;

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters');

/** A ledger head: worker key, sequence number and entry hash. */
export const LedgerHeadSchema = z.strictObject({
  worker: hex32,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  entry: hex32,
});
/** A ledger head. */
export type LedgerHead = z.infer<typeof LedgerHeadSchema>;

/** Where a ledger head was placed on chain. */
export const LedgerPlacementSchema = z.strictObject({
  head: LedgerHeadSchema,
  blockHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  blockNumber: z.number().int().nonnegative(),
  extrinsicIndex: z.number().int().nonnegative(),
});
/** Where a ledger head was placed on chain. */
export type LedgerPlacement = z.infer<typeof LedgerPlacementSchema>;

/** The 76-byte remark of a ledger head, as `0x` hex. Throws 'remark_invalid'. */
export function encodeLedgerRemarkHex(head: LedgerHead): `0x${string}` {
  const parsed = LedgerHeadSchema.safeParse(head);
  if (!parsed.success)
    throw new ObscuraError('remark_invalid', `invalid ledger head: ${parsed.error.issues[0]?.message}`, 400);
  const out = Buffer.alloc(LEDGER_REMARK_LENGTH);
  out.set(REMARK_MAGIC, 0);
  out[3] = LEDGER_REMARK_VERSION;
  out.write(parsed.data.worker, 4, 'hex');
  out.writeBigUInt64BE(BigInt(parsed.data.seq), 36);
  out.write(parsed.data.entry, 44, 'hex');
  return `0x${out.toString('hex')}`;
}

/** Decodes a ledger-head remark; undefined for any other remark (another version, another format). */
export function decodeLedgerRemark(bytes: Uint8Array): LedgerHead | undefined {
  if (bytes.length !== LEDGER_REMARK_LENGTH) return undefined;
  if (
    bytes[0] !== REMARK_MAGIC[0] ||
    bytes[1] !== REMARK_MAGIC[1] ||
    bytes[2] !== REMARK_MAGIC[2] ||
    bytes[3] !== LEDGER_REMARK_VERSION
  )
    return undefined;
  const buf = Buffer.from(bytes);
  const seq = buf.readBigUInt64BE(36);
  if (seq < 1n || seq > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    worker: buf.subarray(4, 36).toString('hex'),
    seq: Number(seq),
    entry: buf.subarray(44).toString('hex'),
  };
}
