/**
 * Anchor records and the on-chain remark payload: their compact, versioned binary formats.
 *
 * An anchor record says "this hash of this kind existed": a result, a committed dataset, a
 * registered worker, a spent privacy budget. Records become Merkle leaves; only the root
 * goes on chain, in one `system.remarkWithEvent`.
 *
 * Record encoding, version 1 (34 bytes); its Merkle leaf is SHA-256(0x00 || encoding):
 *
 * | offset | size | field                                                        |
 * | ------ | ---- | ------------------------------------------------------------ |
 * | 0      | 1    | record format version = 0x01                                 |
 * | 1      | 1    | kind: 0x01 result, 0x02 dataset, 0x03 worker, 0x04 budget    |
 * | 2      | 32   | the record's hash (SHA-256, raw bytes)                       |
 *
 * Remark payload, version 1 (40 bytes), passed to `system.remarkWithEvent`:
 *
 * | offset | size | field                                                        |
 * | ------ | ---- | ------------------------------------------------------------ |
 * | 0      | 3    | magic "OBS" = 0x4f 0x42 0x53                                 |
 * | 3      | 1    | payload format version = 0x01                                |
 * | 4      | 4    | record count (leaves under the root), u32 big-endian, >= 1   |
 * | 8      | 32   | Merkle root (merkle.ts: SHA-256, leaf 0x00 / node 0x01)      |
 *
 * Decoders refuse any other length, magic, version, kind or a zero count. New versions get
 * new version bytes; a decoder never guesses.
 */
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { merkleLeaf } from './merkle.ts';

/** The kinds of record Obscura anchors. */
export const ANCHOR_KINDS = ['result', 'dataset', 'worker', 'budget'] as const;

/** A 32-byte hash as 64 lower-case hex characters, no `0x`. */
export const Hash32HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters');

/** An anchor record: what kind of thing, and its SHA-256 (64 lower-case hex). */
export const AnchorRecordSchema = z.strictObject({
  kind: z.enum(ANCHOR_KINDS),
  hash: Hash32HexSchema,
});
/** An anchor record (see AnchorRecordSchema). */
export type AnchorRecord = z.infer<typeof AnchorRecordSchema>;
/** One of the record kinds. */
export type AnchorKind = AnchorRecord['kind'];

/** Version byte of the record encoding. */
export const RECORD_VERSION = 1;
/** Length in bytes of an encoded record. */
export const RECORD_LENGTH = 34;
/** Magic prefix of the remark payload ("OBS"). */
export const REMARK_MAGIC = Uint8Array.of(0x4f, 0x42, 0x53);
/** Version byte of the remark payload. */
export const REMARK_VERSION = 1;
/** Length in bytes of a remark payload. */
export const REMARK_LENGTH = 40;

const KIND_CODE: Record<AnchorKind, number> = { result: 1, dataset: 2, worker: 3, budget: 4 };
const CODE_KIND = new Map<number, AnchorKind>(ANCHOR_KINDS.map((k) => [KIND_CODE[k], k]));

/** The decoded remark payload: how many records, under which Merkle root (64 hex). */
export interface RemarkPayload {
  recordCount: number;
  root: string;
}

function toBytes(input: Uint8Array | string, code: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  const hex = input.startsWith('0x') ? input.slice(2) : input;
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ObscuraError(code, 'payload is not valid hex', 400);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** The 34-byte version-1 encoding of a record. Throws 'record_invalid' when the record fails its schema. */
export function encodeRecord(record: AnchorRecord): Uint8Array {
  const parsed = AnchorRecordSchema.safeParse(record);
  if (!parsed.success)
    throw new ObscuraError(
      'record_invalid',
      `invalid anchor record: ${parsed.error.issues[0]?.message}`,
      400,
    );
  const out = new Uint8Array(RECORD_LENGTH);
  out[0] = RECORD_VERSION;
  out[1] = KIND_CODE[parsed.data.kind];
  out.set(Buffer.from(parsed.data.hash, 'hex'), 2);
  return out;
}

/** Decodes a record encoding (bytes or hex). Throws 'record_malformed' on any other length, version or kind. */
export function decodeRecord(input: Uint8Array | string): AnchorRecord {
  const bytes = toBytes(input, 'record_malformed');
  if (bytes.length !== RECORD_LENGTH) {
    throw new ObscuraError(
      'record_malformed',
      `record encoding is ${bytes.length} bytes, expected ${RECORD_LENGTH}`,
      400,
    );
  }
  if (bytes[0] !== RECORD_VERSION)
    throw new ObscuraError('record_malformed', `unknown record version ${bytes[0]}`, 400);
  const kind = CODE_KIND.get(bytes[1] as number);
  if (!kind) throw new ObscuraError('record_malformed', `unknown record kind ${bytes[1]}`, 400);
  return { kind, hash: Buffer.from(bytes.subarray(2)).toString('hex') };
}

/** The Merkle leaf hash (64 hex) of a record: SHA-256(0x00 || encodeRecord(record)). Throws 'record_invalid'. */
export function recordLeaf(record: AnchorRecord): string {
  return merkleLeaf(encodeRecord(record));
}

/** The 40-byte version-1 remark payload. Throws 'remark_invalid' on a bad count or root. */
export function encodeRemark(payload: RemarkPayload): Uint8Array {
  const { recordCount, root } = payload;
  if (!Number.isInteger(recordCount) || recordCount < 1 || recordCount > 0xffffffff) {
    throw new ObscuraError('remark_invalid', `record count ${recordCount} is outside 1..2^32-1`, 400);
  }
  if (!Hash32HexSchema.safeParse(root).success) {
    throw new ObscuraError('remark_invalid', 'Merkle root is not 64 lower-case hex characters', 400);
  }
  const out = new Uint8Array(REMARK_LENGTH);
  out.set(REMARK_MAGIC, 0);
  out[3] = REMARK_VERSION;
  new DataView(out.buffer).setUint32(4, recordCount, false);
  out.set(Buffer.from(root, 'hex'), 8);
  return out;
}

/** The remark payload as a `0x` hex string, the form `system.remarkWithEvent` must be given. */
export function encodeRemarkHex(payload: RemarkPayload): `0x${string}` {
  return `0x${Buffer.from(encodeRemark(payload)).toString('hex')}`;
}

/** Decodes a remark payload (bytes or hex). Throws 'remark_malformed' on bad length, magic, version or count. */
export function decodeRemark(input: Uint8Array | string): RemarkPayload {
  const bytes = toBytes(input, 'remark_malformed');
  if (bytes.length !== REMARK_LENGTH) {
    throw new ObscuraError(
      'remark_malformed',
      `remark is ${bytes.length} bytes, expected ${REMARK_LENGTH}`,
      400,
    );
  }
  if (bytes[0] !== REMARK_MAGIC[0] || bytes[1] !== REMARK_MAGIC[1] || bytes[2] !== REMARK_MAGIC[2]) {
    throw new ObscuraError('remark_malformed', 'remark does not start with the magic "OBS"', 400);
  }
  if (bytes[3] !== REMARK_VERSION)
    throw new ObscuraError('remark_malformed', `unknown remark version ${bytes[3]}`, 400);
  const recordCount = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, false);
  if (recordCount === 0) throw new ObscuraError('remark_malformed', 'remark anchors zero records', 400);
  return { recordCount, root: Buffer.from(bytes.subarray(8)).toString('hex') };
}
